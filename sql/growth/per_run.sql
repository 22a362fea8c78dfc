-- What the warehouse held after each run (run_totals, every endpoint added): tags, total and unique bytes; the dashboard's growth curve. A failed repository keeps its last snapshot, so a run never shows a false drop; runs loaded before run_totals existed are gaps.
SELECT r.started_at AS snapshot_at, run_label(r.seq, r.started_at) AS run,
       sum(t.total_size) AS total_size, sum(t.unique_size) AS unique_size, sum(t.tags) AS tags
FROM runs AS r
LEFT JOIN run_totals AS t ON t.seq = r.seq
GROUP BY r.seq, r.started_at
ORDER BY r.seq;
