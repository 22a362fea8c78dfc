-- Any run's full snapshot of every target it synced, rebuilt from tag_history and target_runs.
CREATE OR REPLACE VIEW tag_snapshots AS
SELECT
    t.run_id, t.seq, t.snapshot_at,
    h.* EXCLUDE (valid_from_seq, valid_from_run, valid_from, valid_to_seq, valid_to_run, valid_to)
FROM target_runs AS t
JOIN tag_history AS h
  ON h.endpoint = t.endpoint AND h.namespace = t.namespace AND h.repository = t.repository
 AND valid_at(h.valid_from_seq, h.valid_to_seq, t.seq)
WHERE t.status = 'ok';
