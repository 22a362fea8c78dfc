-- Which repositories hold what: tags, bytes (each digest once in unique_size), ages, last push.
CREATE OR REPLACE VIEW repo_summary AS
WITH per_digest AS (
    SELECT endpoint, namespace, repository, digest, any_value(size) AS size
    FROM tags_current
    GROUP BY ALL
),
unique_sizes AS (
    SELECT endpoint, namespace, repository, sum(size::HUGEINT) AS unique_size
    FROM per_digest
    GROUP BY ALL
)
SELECT
    t.endpoint, t.namespace, t.repository,
    count(*) AS tags,
    coalesce(sum(t.size::HUGEINT), 0) AS total_size,
    any_value(u.unique_size) AS unique_size,
    count(DISTINCT t.digest) AS digests,
    count(*) FILTER (WHERE t.tag_type = 1) AS manifest_lists,
    min(t.created) AS oldest_created,
    max(t.created) AS newest_created,
    max(t.updated) AS last_push,
    median(days_between(t.created, t.as_of)) AS median_age_days,
    max(t.as_of) AS as_of
FROM tags_current AS t
JOIN unique_sizes AS u USING (endpoint, namespace, repository)
GROUP BY t.endpoint, t.namespace, t.repository;
