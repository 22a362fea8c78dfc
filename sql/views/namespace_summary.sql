-- The repository summary rolled up per namespace, plus one row per endpoint (namespace NULL): repositories as repositories_synced counts them (an empty one counts, and a namespace of empty repositories has a row with no tag); unique_size from unique_sizes.
CREATE OR REPLACE VIEW namespace_summary AS
WITH held AS (
    SELECT endpoint, namespace,
           CASE WHEN grouping(namespace) = 1 THEN 'endpoint' ELSE 'namespace' END AS level,
           count(*) AS repositories,
           max(as_of) AS as_of
    FROM repositories_synced
    GROUP BY GROUPING SETS ((endpoint, namespace), (endpoint))
),
rolled AS (
    SELECT
        endpoint, namespace,
        CASE WHEN grouping(namespace) = 1 THEN 'endpoint' ELSE 'namespace' END AS level,
        count(*) AS tags,
        coalesce(sum(size::HUGEINT), 0) AS total_size,
        count(DISTINCT digest) AS digests,
        count(*) FILTER (WHERE tag_type = 1) AS manifest_lists,
        min(created) AS oldest_created,
        max(created) AS newest_created,
        max(updated) AS last_push,
        median(days_between(created, as_of)) AS median_age_days
    FROM tags_current
    GROUP BY GROUPING SETS ((endpoint, namespace), (endpoint))
)
SELECT h.level, h.endpoint, h.namespace, h.repositories, coalesce(r.tags, 0) AS tags,
       coalesce(r.total_size, 0::HUGEINT) AS total_size,
       coalesce(u.unique_size, 0::HUGEINT) AS unique_size, coalesce(r.digests, 0) AS digests,
       coalesce(r.manifest_lists, 0) AS manifest_lists, r.oldest_created, r.newest_created,
       r.last_push, r.median_age_days, h.as_of
FROM held AS h
LEFT JOIN rolled AS r
  ON r.level = h.level AND r.endpoint = h.endpoint
 AND r.namespace IS NOT DISTINCT FROM h.namespace
LEFT JOIN unique_sizes AS u
  ON u.level = h.level AND u.endpoint = h.endpoint
 AND u.namespace IS NOT DISTINCT FROM h.namespace;
