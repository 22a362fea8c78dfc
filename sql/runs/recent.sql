-- The last 30 runs, oldest first: each run's label, status, targets by status and how long it took; the dashboard's health chart.
SELECT run_label(seq, started_at) AS run, status, ok, not_found, failed,
       epoch(finished_at) - epoch(started_at) AS duration_s
FROM (SELECT * FROM runs ORDER BY seq DESC LIMIT 30)
ORDER BY seq;
