-- Repositories whose pull counter has not moved for at least `days` days of observation, with their tags, unique_size and last_push: nobody pulls from them. A repository observed for less than `days` is not listed (unknown is not unpulled).
CREATE OR REPLACE MACRO unpulled_repositories(days) AS TABLE
WITH latest AS (
    SELECT endpoint, namespace, repository, arg_max(num_download, seq) AS num_download,
           max(snapshot_at) AS as_of, min(snapshot_at) AS first_seen
    FROM repository_sightings
    GROUP BY ALL
),
moved AS (
    -- The last sighting that showed another count than the latest: the counter moved after it.
    SELECT s.endpoint, s.namespace, s.repository, max(s.seq) AS seq
    FROM repository_sightings AS s
    JOIN latest AS l USING (endpoint, namespace, repository)
    WHERE s.num_download IS DISTINCT FROM l.num_download
    GROUP BY ALL
),
still AS (
    SELECT s.endpoint, s.namespace, s.repository, min(s.snapshot_at) AS still_since
    FROM repository_sightings AS s
    LEFT JOIN moved AS m USING (endpoint, namespace, repository)
    WHERE s.seq > coalesce(m.seq, -1)
    GROUP BY ALL
)
SELECT c.endpoint, c.namespace, c.repository, l.num_download, st.still_since,
       days_between(st.still_since, l.as_of) AS unpulled_days,
       days_between(l.first_seen, l.as_of) AS observed_days,
       rs.tags, rs.unique_size, rs.last_push, l.as_of
FROM repositories_current AS c
JOIN latest AS l USING (endpoint, namespace, repository)
JOIN still AS st USING (endpoint, namespace, repository)
LEFT JOIN repo_summary AS rs USING (endpoint, namespace, repository)
WHERE days_between(st.still_since, l.as_of) >= days
ORDER BY rs.unique_size DESC NULLS LAST, c.endpoint, c.namespace, c.repository;
