-- Repositories that exist at one run and not at another (each as its latest successful sync up to the run saw it): added (found by a pattern that had synced before, or back after being gone) or removed (not found).
CREATE OR REPLACE MACRO repository_changes(from_seq, to_seq) AS TABLE
WITH state AS (
    SELECT endpoint, namespace, repository,
           arg_max(status, seq) FILTER (WHERE seq <= from_seq) AS at_from,
           arg_max(status, seq) FILTER (WHERE seq <= to_seq) AS at_to,
           arg_max(selected_by, seq) FILTER (WHERE seq <= to_seq) AS selected_by
    FROM target_runs
    WHERE status IN ('ok', 'not_found')
    GROUP BY ALL
),
patterns AS (
    SELECT DISTINCT endpoint, selected_by FROM target_runs WHERE seq <= from_seq
)
SELECT s.endpoint, s.namespace, s.repository,
       CASE WHEN s.at_to = 'ok' THEN 'added' ELSE 'removed' END AS change
FROM state AS s
LEFT JOIN patterns AS p ON p.endpoint = s.endpoint AND p.selected_by = s.selected_by
WHERE (s.at_from = 'ok' AND s.at_to = 'not_found')
   OR (s.at_to = 'ok' AND s.at_from = 'not_found')
   OR (s.at_to = 'ok' AND s.at_from IS NULL AND coalesce(s.selected_by, 'literal') <> 'literal'
       AND p.selected_by IS NOT NULL)
ORDER BY s.endpoint, s.namespace, s.repository;
