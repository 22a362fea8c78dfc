-- The end-of-run summary's failed targets of one run, the first ten, with what the server said.
SELECT endpoint || ':' || namespace || '/' || repository AS target, http_status, error_code,
       error_message, request_id
FROM target_runs
WHERE run_id = $run_id AND NOT synced(status)
ORDER BY target
LIMIT 10;
