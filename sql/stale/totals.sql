-- The report's stale tags: how many were not pushed for $days days, and the bytes deleting them frees.
SELECT count(*) AS tags,
       coalesce(sum(size::HUGEINT), 0) AS total_size,
       coalesce(sum(reclaimable_size), 0) AS reclaimable_size
FROM stale_tags($days);
