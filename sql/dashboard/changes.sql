-- The dashboard's changes per run, by kind: added, removed, retagged, repushed, modified.
SELECT to_run AS run_id, to_at AS snapshot_at, change, count(*) AS tags
FROM tag_changes
GROUP BY ALL
ORDER BY snapshot_at, change;
