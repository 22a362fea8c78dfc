-- The dashboard's growth curve: bytes per run; a run in which any repository failed is a gap (NULL), never a drop.
SELECT r.started_at AS snapshot_at,
       CASE WHEN r.status = 'ok' THEN coalesce(sum(s.total_size), 0) END AS total_size,
       CASE WHEN r.status = 'ok' THEN coalesce(sum(s.unique_size), 0) END AS unique_size,
       CASE WHEN r.status = 'ok' THEN coalesce(sum(s.tags), 0) END AS tags
FROM runs AS r
LEFT JOIN size_history AS s ON s.seq = r.seq
GROUP BY r.seq, r.started_at, r.status
ORDER BY r.seq;
