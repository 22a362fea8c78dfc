-- Which repositories hold what (every repository of repositories_synced, an empty one with no tag): tags, bytes (unique_size from unique_sizes), ages, last push; and, where discovery lists them, the API's size, the pull counter and the pulls of the last 7 and 30 days (NULL when not observed that long).
CREATE OR REPLACE VIEW repo_summary AS
WITH seen AS (
    SELECT endpoint, namespace, repository, snapshot_at,
           max(snapshot_at) OVER (PARTITION BY endpoint, namespace, repository) AS latest_at
    FROM repository_sightings
),
bases AS (
    -- The last sighting at least 7 (30) days before the latest: pulls are counted since then.
    SELECT endpoint, namespace, repository,
           max(snapshot_at) FILTER (WHERE snapshot_at <= latest_at - INTERVAL 7 DAY) AS base_7d,
           max(snapshot_at) FILTER (WHERE snapshot_at <= latest_at - INTERVAL 30 DAY) AS base_30d
    FROM seen
    GROUP BY ALL
),
pulls AS (
    SELECT b.endpoint, b.namespace, b.repository,
           CASE WHEN b.base_7d IS NOT NULL
                THEN coalesce(sum(p.pulls) FILTER (WHERE p.from_at >= b.base_7d), 0) END
               AS pulls_last_7d,
           CASE WHEN b.base_30d IS NOT NULL
                THEN coalesce(sum(p.pulls) FILTER (WHERE p.from_at >= b.base_30d), 0) END
               AS pulls_last_30d
    FROM bases AS b
    LEFT JOIN repo_pulls AS p USING (endpoint, namespace, repository)
    GROUP BY b.endpoint, b.namespace, b.repository, b.base_7d, b.base_30d
)
SELECT
    s.endpoint, s.namespace, s.repository,
    count(t.tag) AS tags,
    coalesce(sum(t.size::HUGEINT), 0) AS total_size,
    coalesce(any_value(u.unique_size), 0::HUGEINT) AS unique_size,
    count(DISTINCT t.digest) AS digests,
    count(*) FILTER (WHERE t.tag_type = 1) AS manifest_lists,
    min(t.created) AS oldest_created,
    max(t.created) AS newest_created,
    max(t.updated) AS last_push,
    median(days_between(t.created, t.as_of)) AS median_age_days,
    any_value(s.as_of) AS as_of,
    any_value(c.size) AS api_size,
    any_value(c.num_download) AS num_download,
    any_value(p.pulls_last_7d) AS pulls_last_7d,
    any_value(p.pulls_last_30d) AS pulls_last_30d
FROM repositories_synced AS s
LEFT JOIN tags_current AS t
  ON t.endpoint = s.endpoint AND t.namespace = s.namespace AND t.repository = s.repository
LEFT JOIN unique_sizes AS u
  ON u.level = 'repository' AND u.endpoint = s.endpoint AND u.namespace = s.namespace
 AND u.repository = s.repository
LEFT JOIN repositories_current AS c
  ON c.endpoint = s.endpoint AND c.namespace = s.namespace AND c.repository = s.repository
LEFT JOIN pulls AS p
  ON p.endpoint = s.endpoint AND p.namespace = s.namespace AND p.repository = s.repository
GROUP BY s.endpoint, s.namespace, s.repository;
