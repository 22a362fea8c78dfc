-- Records what the warehouse holds per endpoint once the run's versions are in (the state after the run; an endpoint of the run with nothing current holds 0), for the growth curve, the summary and the metrics: repositories as repositories_synced counts them (empty ones included).
INSERT INTO run_totals
SELECT $run_id, $seq, $snapshot_at, e.endpoint, coalesce(r.repositories, 0), coalesce(c.tags, 0),
       coalesce(c.total_size, 0), coalesce(u.unique_size, 0)
FROM (
    SELECT endpoint FROM target_runs WHERE seq = $seq
    UNION
    SELECT endpoint FROM tag_history WHERE valid_to_seq IS NULL
) AS e
LEFT JOIN (
    SELECT endpoint, count(*) AS repositories FROM repositories_synced GROUP BY endpoint
) AS r USING (endpoint)
LEFT JOIN (
    SELECT endpoint, count(*) AS tags, sum(size::HUGEINT) AS total_size
    FROM tags_current
    GROUP BY endpoint
) AS c USING (endpoint)
LEFT JOIN unique_sizes AS u ON u.level = 'endpoint' AND u.endpoint = e.endpoint;
