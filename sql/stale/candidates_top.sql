-- The cleanup candidates of tags not pushed for $days days (cleanup_candidates), per repository, labelled: the top 15 by reclaimable bytes and one `other` row summing the rest (members: how many it stands for; reclaimable bytes are per repository, so they add up); the dashboard's "What to delete", under the report's default rule.
WITH ranked AS (
    SELECT *, row_number() OVER (ORDER BY reclaimable_size DESC, endpoint, namespace, repository)
              AS rank
    FROM cleanup_candidates($days)
)
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, target_label(endpoint, namespace, repository) AS repository, 1 AS members,
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
