-- The growth of the whole warehouse over the last 7 and 30 days (run_totals, every endpoint added), from the run each window starts at (window_start) to the latest run (latest_seq); the dashboard's growth windows.
WITH totals AS (
    SELECT seq, sum(unique_size) AS unique_size, sum(total_size) AS total_size
    FROM run_totals GROUP BY seq
),
windows AS (SELECT days, window_start(days) AS from_seq FROM (VALUES (7), (30)) AS w(days))
SELECT w.days, (SELECT run_label(seq, started_at) FROM runs WHERE seq = w.from_seq) AS since,
       now_t.unique_size - from_t.unique_size AS unique_growth_bytes,
       now_t.total_size - from_t.total_size AS total_growth_bytes
FROM windows AS w
LEFT JOIN totals AS now_t ON now_t.seq = latest_seq()
LEFT JOIN totals AS from_t ON from_t.seq = w.from_seq
ORDER BY w.days;
