-- How much the warehouse holds now: runs loaded, repositories and tags current, bytes.
CREATE OR REPLACE VIEW warehouse_totals AS
SELECT
    (SELECT count(*) FROM runs) AS runs,
    count(DISTINCT (endpoint, namespace, repository)) AS repositories,
    count(*) AS tags,
    coalesce(sum(size::HUGEINT), 0) AS total_size,
    coalesce((SELECT sum(size::HUGEINT)
              FROM (SELECT DISTINCT endpoint, namespace, repository, digest, size
                    FROM tags_current)), 0) AS unique_size
FROM tags_current;
