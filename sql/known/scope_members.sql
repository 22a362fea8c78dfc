-- The repositories each discovery pattern selected in earlier runs and still counts as existing (their latest row under that pattern is neither `not_found` nor `untracked`): what a complete discovery must find again, or close.
SELECT endpoint, selected_by, namespace, repository
FROM target_runs
WHERE selected_by IS NOT NULL AND selected_by <> 'literal'
QUALIFY row_number() OVER (
            PARTITION BY endpoint, selected_by, namespace, repository ORDER BY seq DESC
        ) = 1
    AND status NOT IN ('not_found', 'untracked');
