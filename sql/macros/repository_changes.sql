-- Repositories whose existence differs between the state after run `from_seq` and after run `to_seq` (each as its latest sync up to the run saw it): added (back after SWR said it was gone, or new to a pattern that had synced before), removed (SWR says it is gone) or untracked (it left the configured scope).
CREATE OR REPLACE MACRO repository_changes(from_seq, to_seq) AS TABLE
WITH state AS (
    SELECT endpoint, namespace, repository,
           arg_max(status, seq) FILTER (WHERE seq <= from_seq) AS at_from,
           arg_max(status, seq) FILTER (WHERE seq <= to_seq) AS at_to,
           -- The first sync in between: a repository never synced before is added only if
           -- it is no baseline.
           arg_min(baseline, seq) FILTER (WHERE seq > from_seq AND seq <= to_seq) AS first_baseline
    FROM target_syncs
    GROUP BY ALL
)
SELECT endpoint, namespace, repository,
       CASE WHEN at_to = 'ok' THEN 'added' WHEN at_to = 'not_found' THEN 'removed'
            ELSE 'untracked' END AS change
FROM state
WHERE (at_from = 'ok' AND at_to IN ('not_found', 'untracked'))
   OR (at_to = 'ok' AND at_from = 'not_found')
   OR (at_to = 'ok' AND at_from IS NULL AND NOT first_baseline)
ORDER BY endpoint, namespace, repository;
