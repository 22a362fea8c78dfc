-- Records how every target of the run went; its sizes come after the tags are versioned (load/target_sizes).
INSERT INTO target_runs
SELECT
    r.run_id, $seq, r.snapshot_at, r.endpoint, r.namespace, r.repository, r.tag_filter, r.status,
    r.tags, NULL, NULL, r.pages, r.requests, r.retries, r.warnings, r.duration_s, r.http_status,
    r.error_code, r.error_message, r.request_id, r.selected_by, r.api, r.listing, r.carried
FROM staged_target_runs AS r;
