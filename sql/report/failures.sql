-- The report's failures: targets of the last run that did not sync, with what the API said.
SELECT endpoint, namespace, repository, status, http_status, error_code, error_message, request_id
FROM target_runs
WHERE seq = (SELECT max(seq) FROM runs) AND status IN ('not_found', 'failed')
ORDER BY endpoint, namespace, repository;
