-- The targets of run `run_seq` that did not sync (NOT synced: `failed`; a `not_found` one synced, and found the repository gone), each with its label and what the API said: HTTP status, error code, message, request id; by endpoint, namespace and repository. The one definition of a run's failures that the report, the dashboard and the end-of-run summary read.
CREATE OR REPLACE MACRO run_failures(run_seq) AS TABLE
SELECT endpoint, namespace, repository, target_label(endpoint, namespace, repository) AS target,
       status, http_status, error_code, error_message, request_id
FROM target_runs
WHERE seq = run_seq AND NOT synced(status)
ORDER BY endpoint, namespace, repository;
