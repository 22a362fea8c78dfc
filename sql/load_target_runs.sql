-- Records how every target of the run went, with its tag count and sizes.
INSERT INTO target_runs
SELECT
    r.run_id, $seq, r.snapshot_at, r.endpoint, r.namespace, r.repository, r.tag_filter, r.status,
    r.tags, s.total_size, s.unique_size, r.pages, r.requests, r.retries, r.warnings,
    r.duration_s, r.http_status, r.error_code, r.error_message, r.request_id, r.selected_by,
    r.api
FROM staged_target_runs AS r
LEFT JOIN staged_sizes AS s USING (endpoint, namespace, repository);
