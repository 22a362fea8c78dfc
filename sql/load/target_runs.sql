-- Records how every target of the run went, with its tag count and sizes (sums never overflow).
INSERT INTO target_runs
SELECT
    r.run_id, $seq, r.snapshot_at, r.endpoint, r.namespace, r.repository, r.tag_filter, r.status,
    r.tags, s.total_size, s.unique_size, r.pages, r.requests, r.retries, r.warnings,
    r.duration_s, r.http_status, r.error_code, r.error_message, r.request_id, r.selected_by,
    r.api
FROM staged_target_runs AS r
LEFT JOIN (
    -- Unique size as unique_sizes defines it, for the repository: each image once.
    SELECT endpoint, namespace, repository,
           sum(image_size) AS total_size, sum(one_size) AS unique_size
    FROM (
        SELECT endpoint, namespace, repository, image_of(digest, tag) AS image,
               sum(size::HUGEINT) AS image_size, max(size)::HUGEINT AS one_size
        FROM staged_tags
        GROUP BY ALL
    )
    GROUP BY ALL
) AS s USING (endpoint, namespace, repository);
