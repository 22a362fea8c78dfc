-- The end-of-run summary's changes: tags per kind and bytes, from the versions the run opened or closed; as in tag_changes, a target's first snapshot is a baseline unless its pattern synced before.
WITH run AS (
    SELECT seq FROM runs WHERE run_id = $run_id
),
baseline AS (
    SELECT t.endpoint, t.namespace, t.repository
    FROM target_runs AS t, run
    WHERE t.seq = run.seq
      AND NOT EXISTS (
          SELECT 1 FROM target_runs AS p
          WHERE p.endpoint = t.endpoint AND p.namespace = t.namespace
            AND p.repository = t.repository AND p.seq < t.seq AND p.status IN ('ok', 'not_found')
      )
      AND NOT (coalesce(t.selected_by, 'literal') <> 'literal' AND EXISTS (
          SELECT 1 FROM target_runs AS q
          WHERE q.endpoint = t.endpoint AND q.selected_by = t.selected_by AND q.seq < t.seq
      ))
),
opened AS (
    SELECT h.endpoint, h.namespace, h.repository, h.tag, h.digest, h.size, h.updated
    FROM tag_history AS h, run
    WHERE h.valid_from_seq = run.seq
      AND NOT EXISTS (
          SELECT 1 FROM baseline AS b
          WHERE b.endpoint = h.endpoint AND b.namespace = h.namespace
            AND b.repository = h.repository
      )
),
closed AS (
    SELECT h.endpoint, h.namespace, h.repository, h.tag, h.digest, h.size, h.updated
    FROM tag_history AS h, run
    WHERE h.valid_to_seq = run.seq
),
paired AS (
    SELECT change_kind(c.tag, o.tag, c.digest, o.digest, c.updated, o.updated) AS change,
           o.size AS new_size, c.size AS old_size
    FROM opened AS o
    FULL JOIN closed AS c
      ON c.endpoint = o.endpoint AND c.namespace = o.namespace
     AND c.repository = o.repository AND c.tag = o.tag
)
SELECT change, count(*) AS tags,
       coalesce(sum(new_size::HUGEINT) FILTER (WHERE change IN ('added', 'retagged')), 0) AS bytes_added,
       coalesce(sum(old_size::HUGEINT) FILTER (WHERE change IN ('removed', 'retagged')), 0) AS bytes_freed
FROM paired
GROUP BY change
ORDER BY change;
