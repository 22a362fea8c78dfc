-- When the latest run the warehouse holds started (NULL before the first).
SELECT max(started_at) FROM runs;
