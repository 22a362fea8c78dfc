-- The report's last run: when, how it went, how much it saw.
SELECT run_id, started_at, status, targets, ok, not_found, failed, tags, retries
FROM runs
ORDER BY seq DESC
LIMIT 1;
