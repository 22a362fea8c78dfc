-- The latest run's health (latest_seq): its label, status and writer, when it ran and for how long, its targets by status and its counts; the dashboard's last-run card and table.
SELECT run_label(seq, started_at) AS run, run_id, status, writer, started_at, finished_at,
       epoch(finished_at) - epoch(started_at) AS duration_s, targets, ok, not_found, failed,
       tags, requests, retries, warnings
FROM runs
WHERE seq = latest_seq();
