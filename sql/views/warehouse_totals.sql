-- How much the warehouse holds now: runs loaded, repositories (repositories_synced: empty ones included) and tags current, total bytes, and unique bytes (each image once per endpoint, endpoints added: unique_sizes).
CREATE OR REPLACE VIEW warehouse_totals AS
SELECT
    (SELECT count(*) FROM runs) AS runs,
    (SELECT count(*) FROM repositories_synced) AS repositories,
    count(*) AS tags,
    coalesce(sum(size::HUGEINT), 0) AS total_size,
    coalesce((SELECT sum(unique_size) FROM unique_sizes WHERE level = 'endpoint'), 0)
        AS unique_size
FROM tags_current;
