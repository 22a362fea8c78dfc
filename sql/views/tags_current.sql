-- Every tag as each repository's latest sync saw it, with that sync's time as as_of: repositories that are gone (not_found) or out of the configured scope (untracked) have no current tags.
CREATE OR REPLACE VIEW tags_current AS
SELECT
    h.* EXCLUDE (valid_from_seq, valid_from_run, valid_from, valid_to_seq, valid_to_run, valid_to),
    s.snapshot_at AS as_of,
    s.run_id AS as_of_run,
    h.valid_from AS version_since
FROM tag_history AS h
JOIN target_syncs AS s
  ON s.latest AND s.endpoint = h.endpoint AND s.namespace = h.namespace
 AND s.repository = h.repository
WHERE h.valid_to_seq IS NULL;
