-- The repository summary rolled up per namespace, plus one row per endpoint (namespace NULL); unique_size from unique_sizes.
CREATE OR REPLACE VIEW namespace_summary AS
WITH rolled AS (
    SELECT
        endpoint, namespace,
        CASE WHEN grouping(namespace) = 1 THEN 'endpoint' ELSE 'namespace' END AS level,
        count(DISTINCT repository) AS repositories,
        count(*) AS tags,
        coalesce(sum(size::HUGEINT), 0) AS total_size,
        count(DISTINCT digest) AS digests,
        count(*) FILTER (WHERE tag_type = 1) AS manifest_lists,
        min(created) AS oldest_created,
        max(created) AS newest_created,
        max(updated) AS last_push,
        median(days_between(created, as_of)) AS median_age_days,
        max(as_of) AS as_of
    FROM tags_current
    GROUP BY GROUPING SETS ((endpoint, namespace), (endpoint))
)
SELECT r.level, r.endpoint, r.namespace, r.repositories, r.tags, r.total_size, u.unique_size,
       r.digests, r.manifest_lists, r.oldest_created, r.newest_created, r.last_push,
       r.median_age_days, r.as_of
FROM rolled AS r
JOIN unique_sizes AS u
  ON u.level = r.level AND u.endpoint = r.endpoint
 AND u.namespace IS NOT DISTINCT FROM r.namespace;
