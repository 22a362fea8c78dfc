-- Records how each list of the run's discovery went.
INSERT INTO discoveries
SELECT run_id, $seq, snapshot_at, endpoint, namespace, status, repositories, warnings,
       http_status, error_code, error_message, request_id
FROM staged_discoveries;
