-- Per repository, what deleting the tags not pushed for `days` days would do (stale_tags): candidate tags, their total size, the bytes it frees (each digest once, never one a fresher tag uses) and the oldest push among them; largest reclaimable first.
CREATE OR REPLACE MACRO cleanup_candidates(days) AS TABLE
SELECT endpoint, namespace, repository, count(*) AS candidate_tags,
       sum(size::HUGEINT) AS candidate_size, sum(reclaimable_size::HUGEINT) AS reclaimable_size,
       min(updated) AS oldest_push
FROM stale_tags(days)
GROUP BY ALL
ORDER BY reclaimable_size DESC, endpoint, namespace, repository;
