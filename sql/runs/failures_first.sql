-- The first ten targets of run $run_id that did not sync (run_failures), by label, with what the server said; the end-of-run summary's failures.
SELECT target, http_status, error_code, error_message, request_id
FROM run_failures((SELECT seq FROM runs WHERE run_id = $run_id))
ORDER BY target
LIMIT 10;
