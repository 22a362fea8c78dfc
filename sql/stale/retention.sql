-- What a few SWR retention rule pairs would delete (retention_preview): tags deleted and bytes freed (tags of unknown age are kept); the dashboard's retention preview.
SELECT 'keep last 10, or 90 days' AS rule, count(*) FILTER (WHERE NOT unknown_age) AS tags,
       coalesce(sum(freed_size), 0) AS freed_size FROM retention_preview(10, 90)
UNION ALL SELECT 'keep last 5, or 30 days', count(*) FILTER (WHERE NOT unknown_age),
       coalesce(sum(freed_size), 0) FROM retention_preview(5, 30)
UNION ALL SELECT 'keep last 20, or 180 days', count(*) FILTER (WHERE NOT unknown_age),
       coalesce(sum(freed_size), 0) FROM retention_preview(20, 180)
UNION ALL SELECT 'keep 365 days', count(*) FILTER (WHERE NOT unknown_age),
       coalesce(sum(freed_size), 0) FROM retention_preview(NULL, 365);
