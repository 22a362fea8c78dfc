-- The bytes deleting the tags not pushed for 30, 90, 180 or 365 days would free (stale_tags: each digest once, never one a fresher tag uses), and how many tags; the dashboard's reclaimable by staleness.
SELECT 30 AS days, count(*) AS tags, coalesce(sum(reclaimable_size), 0) AS reclaimable_size FROM stale_tags(30)
UNION ALL SELECT 90, count(*), coalesce(sum(reclaimable_size), 0) FROM stale_tags(90)
UNION ALL SELECT 180, count(*), coalesce(sum(reclaimable_size), 0) FROM stale_tags(180)
UNION ALL SELECT 365, count(*), coalesce(sum(reclaimable_size), 0) FROM stale_tags(365)
ORDER BY days;
