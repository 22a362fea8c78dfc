-- The latest run (latest_seq): when it started, how it went, how much it saw; the report's "Last run", and the run whose holdings the metrics of a failed run show.
SELECT run_id, started_at, status, targets, ok, not_found, failed, tags, retries
FROM runs
WHERE seq = latest_seq();
