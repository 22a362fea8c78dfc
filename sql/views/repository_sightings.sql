-- Every time a complete list of its organization showed a repository: the run, and the metadata it showed then (the pull counter, above all).
CREATE OR REPLACE VIEW repository_sightings AS
SELECT h.endpoint, h.namespace, h.repository, d.seq, d.run_id, d.snapshot_at,
       h.id, h.num_download, h.size
FROM discoveries AS d
JOIN repository_history AS h
  ON h.endpoint = d.endpoint AND h.namespace = d.namespace
 AND valid_at(h.valid_from_seq, h.valid_to_seq, d.seq)
WHERE d.status = 'ok' AND d.namespace IS NOT NULL;
