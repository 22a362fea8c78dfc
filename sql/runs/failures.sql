-- Every target of the latest run that did not sync (run_failures), with its status and what the API said; the report's failures.
SELECT endpoint, namespace, repository, status, http_status, error_code, error_message, request_id
FROM run_failures(latest_seq())
ORDER BY endpoint, namespace, repository;
