-- The report's failures: targets of the last run that did not sync (NOT synced: `failed`; a `not_found` one synced, and found the repository gone), with what the API said.
SELECT endpoint, namespace, repository, status, http_status, error_code, error_message, request_id
FROM target_runs
WHERE seq = (SELECT max(seq) FROM runs) AND NOT synced(status)
ORDER BY endpoint, namespace, repository;
