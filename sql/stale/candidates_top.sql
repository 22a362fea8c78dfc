-- The dashboard's cleanup candidates under the default rule (not pushed for 365 days, as `swr-etl report`): per repository, cleanup_candidates(365), the top 15 by reclaimable bytes and one `other` row summing the rest (members: how many it stands for; reclaimable bytes are per repository, so they add up).
WITH ranked AS (
    SELECT *, row_number() OVER (ORDER BY reclaimable_size DESC, endpoint, namespace, repository)
              AS rank
    FROM cleanup_candidates(365)
)
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, endpoint || ':' || namespace || '/' || repository AS repository, 1 AS members,
           candidate_tags, candidate_size, reclaimable_size,
           timezone('UTC', oldest_push)::DATE AS oldest_push
    FROM ranked WHERE rank <= 15
    UNION ALL
    SELECT NULL, 'other', count(*), sum(candidate_tags), sum(candidate_size),
           sum(reclaimable_size), timezone('UTC', min(oldest_push))::DATE
    FROM ranked WHERE rank > 15
    HAVING count(*) > 0
)
ORDER BY rank NULLS LAST;
