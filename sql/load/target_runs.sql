-- Records how every target of the run went, with its tag count and sizes (sums never overflow).
INSERT INTO target_runs
SELECT
    r.run_id, $seq, r.snapshot_at, r.endpoint, r.namespace, r.repository, r.tag_filter, r.status,
    r.tags, s.total_size, s.unique_size, r.pages, r.requests, r.retries, r.warnings,
    r.duration_s, r.http_status, r.error_code, r.error_message, r.request_id, r.selected_by,
    r.api
FROM staged_target_runs AS r
LEFT JOIN (
    -- A digest's bytes count once per repository in unique_size, however many tags share it.
    SELECT endpoint, namespace, repository,
           sum(digest_size) AS total_size, sum(one_size) AS unique_size
    FROM (
        SELECT endpoint, namespace, repository, digest,
               sum(size::HUGEINT) AS digest_size, any_value(size)::HUGEINT AS one_size
        FROM staged_tags
        GROUP BY ALL
    )
    GROUP BY ALL
) AS s USING (endpoint, namespace, repository);
