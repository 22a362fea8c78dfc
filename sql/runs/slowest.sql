-- The end-of-run summary's slowest targets of one run.
SELECT endpoint || ':' || namespace || '/' || repository AS target, duration_s, tags, requests,
       retries
FROM target_runs
WHERE run_id = $run_id
ORDER BY duration_s DESC, target
LIMIT 5;
