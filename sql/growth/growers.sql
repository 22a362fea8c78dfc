-- The top growers: per window of 7 and 30 days (window_start), the 5 repositories whose unique bytes grew most, labelled; the dashboard's growers. A repository's bytes at the window's start are what its latest sync at or before that run left (a failed sync says nothing; gone or untracked: none; never synced: none).
WITH windows AS (SELECT days, window_start(days) AS from_seq FROM (VALUES (7), (30)) AS w(days)),
held AS (
    SELECT w.days, t.endpoint, t.namespace, t.repository,
           arg_max(CASE WHEN t.status = 'ok' THEN t.unique_size ELSE 0 END, t.seq) AS unique_size
    FROM windows AS w JOIN target_runs AS t ON t.seq <= w.from_seq AND synced(t.status)
    GROUP BY ALL
),
grown AS (
    SELECT w.days, s.endpoint, s.namespace, s.repository,
           s.unique_size - coalesce(h.unique_size, 0) AS growth_bytes, s.unique_size,
           row_number() OVER (PARTITION BY w.days
                              ORDER BY s.unique_size - coalesce(h.unique_size, 0) DESC,
                                       s.endpoint, s.namespace, s.repository) AS rank
    FROM windows AS w CROSS JOIN repo_summary AS s
    LEFT JOIN held AS h
      ON h.days = w.days AND h.endpoint = s.endpoint AND h.namespace = s.namespace
     AND h.repository = s.repository
)
SELECT days, target_label(endpoint, namespace, repository) AS repository, growth_bytes,
       unique_size
FROM grown
WHERE rank <= 5 AND growth_bytes > 0
ORDER BY days, rank;
