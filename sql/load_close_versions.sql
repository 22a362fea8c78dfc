-- Ends the current version of each tag of a synced target that this run shows changed or gone.
UPDATE tag_history AS h
SET valid_to_seq = $seq, valid_to_run = $run_id, valid_to = $snapshot_at
WHERE h.valid_to_seq IS NULL
  AND EXISTS (
      SELECT 1 FROM target_runs AS t
      WHERE t.seq = $seq AND t.status IN ('ok', 'not_found')
        AND t.endpoint = h.endpoint AND t.namespace = h.namespace AND t.repository = h.repository)
  AND NOT EXISTS (
      SELECT 1 FROM staged_versions AS s
      WHERE s.endpoint = h.endpoint AND s.namespace = h.namespace
        AND s.repository = h.repository AND s.tag = h.tag AND s.version_hash = h.version_hash);
