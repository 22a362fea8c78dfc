-- The dashboard's last run: its status, when it ran and for how long, its targets by status and its counts.
SELECT run_label(seq, started_at) AS run, run_id, status, writer, started_at, finished_at,
       epoch(finished_at) - epoch(started_at) AS duration_s, targets, ok, not_found, failed,
       tags, requests, retries, warnings
FROM runs
ORDER BY seq DESC
LIMIT 1;
