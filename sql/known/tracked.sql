-- The repositories writer $writer_id tracks now, with how they were selected: one of its runs wrote each one's latest row (or, before runs carried a writer id, a run named $writer or unnamed), and they hold current tags or synced ok. A run that no longer selects one closes it as untracked.
WITH latest AS (
    SELECT t.endpoint, t.namespace, t.repository, t.status, t.selected_by, r.writer,
           r.writer_id
    FROM target_runs AS t
    JOIN runs AS r USING (run_id)
    QUALIFY row_number() OVER (
                PARTITION BY t.endpoint, t.namespace, t.repository ORDER BY t.seq DESC
            ) = 1
),
holding AS (
    SELECT DISTINCT endpoint, namespace, repository FROM tag_history WHERE valid_to_seq IS NULL
)
SELECT l.endpoint, l.namespace, l.repository, coalesce(l.selected_by, 'literal')
FROM latest AS l
LEFT JOIN holding AS h USING (endpoint, namespace, repository)
WHERE coalesce(l.writer_id = $writer_id, coalesce(l.writer, $writer) = $writer)
  AND (l.status = 'ok' OR h.repository IS NOT NULL)
ORDER BY l.endpoint, l.namespace, l.repository;
