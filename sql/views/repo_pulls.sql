-- Pulls per repository between consecutive runs that both saw it: the pull counter's rise; a counter that went down (the repository was recreated) gives no row and starts a new series.
CREATE OR REPLACE VIEW repo_pulls AS
WITH paired AS (
    SELECT endpoint, namespace, repository, run_id, snapshot_at, num_download,
           lag(run_id) OVER w AS from_run, lag(snapshot_at) OVER w AS from_at,
           lag(num_download) OVER w AS from_download
    FROM repository_sightings
    WINDOW w AS (PARTITION BY endpoint, namespace, repository ORDER BY seq)
)
SELECT endpoint, namespace, repository, from_run, run_id AS to_run, from_at,
       snapshot_at AS to_at, num_download - from_download AS pulls,
       (num_download - from_download) / nullif(days_between(from_at, snapshot_at), 0)
           AS pulls_per_day
FROM paired
WHERE from_download IS NOT NULL AND num_download >= from_download;
