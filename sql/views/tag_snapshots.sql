-- Any run's full snapshot of every target it synced, rebuilt from tag_history and target_runs.
CREATE OR REPLACE VIEW tag_snapshots AS
SELECT
    t.run_id, t.seq, t.snapshot_at,
    h.endpoint, h.namespace, h.repository, h.tag, h.id, h.repo_id, h.image_id, h.digest,
    h.schema, h.path, h.internal_path, h.size, h.is_trusted, h.created, h.updated,
    h.domain_id, h.tag_type
FROM target_runs AS t
JOIN tag_history AS h
  ON h.endpoint = t.endpoint AND h.namespace = t.namespace AND h.repository = t.repository
 AND valid_at(h.valid_from_seq, h.valid_to_seq, t.seq)
WHERE t.status = 'ok';
