-- Records how every target of the run went, with its tag count and sizes (sums never overflow).
INSERT INTO target_runs
SELECT
    r.run_id, $seq, r.snapshot_at, r.endpoint, r.namespace, r.repository, r.tag_filter, r.status,
    r.tags, s.total_size, s.unique_size, r.pages, r.requests, r.retries, r.warnings,
    r.duration_s, r.http_status, r.error_code, r.error_message, r.request_id
FROM staged_target_runs AS r
LEFT JOIN (
    SELECT endpoint, namespace, repository,
           sum(size::HUGEINT) AS total_size,
           sum(size::HUGEINT) FILTER (WHERE first_of_digest) AS unique_size
    FROM (
        SELECT endpoint, namespace, repository, size,
               row_number() OVER (PARTITION BY endpoint, namespace, repository, digest) = 1
                   AS first_of_digest
        FROM staged_versions
    )
    GROUP BY ALL
) AS s USING (endpoint, namespace, repository);
