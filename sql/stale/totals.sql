-- How many current tags were not pushed for $days days (stale_tags), their bytes, and the bytes deleting them frees; the report's stale tags.
SELECT count(*) AS tags,
       coalesce(sum(size::HUGEINT), 0) AS total_size,
       coalesce(sum(reclaimable_size), 0) AS reclaimable_size
FROM stale_tags($days);
