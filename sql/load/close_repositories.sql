-- Closes the metadata version of every repository of a completely listed organization that the run's list shows changed, or no longer shows, and of every repository whose tag list this run answered SWR's "not found".
UPDATE repository_history AS h
SET valid_to_seq = $seq, valid_to_run = $run_id, valid_to = $snapshot_at
WHERE h.valid_to_seq IS NULL
  AND (
    EXISTS (
      SELECT 1 FROM staged_target_runs AS t
      WHERE t.status = 'not_found' AND t.endpoint = h.endpoint AND t.namespace = h.namespace
        AND t.repository = h.repository
    )
    OR (EXISTS (
      SELECT 1 FROM staged_discoveries AS d
      WHERE d.status = 'ok' AND d.endpoint = h.endpoint AND d.namespace = h.namespace
    )
    AND NOT EXISTS (
      SELECT 1 FROM staged_repositories AS r
      WHERE r.endpoint = h.endpoint AND r.namespace = h.namespace AND r.repository = h.repository
        AND r.id IS NOT DISTINCT FROM h.id AND r.category IS NOT DISTINCT FROM h.category
        AND r.description IS NOT DISTINCT FROM h.description AND r.size IS NOT DISTINCT FROM h.size
        AND r.is_public IS NOT DISTINCT FROM h.is_public
        AND r.num_images IS NOT DISTINCT FROM h.num_images
        AND r.num_download IS NOT DISTINCT FROM h.num_download
        AND r.created_at IS NOT DISTINCT FROM h.created_at
        AND r.updated_at IS NOT DISTINCT FROM h.updated_at
        AND r.domain_name IS NOT DISTINCT FROM h.domain_name
        AND r.status IS NOT DISTINCT FROM h.status
    ))
  );
