-- A run's changes as the lake keeps them (`tag_deltas`), from what listing_changes finds: each tag it opens, whole, with `op = 'open'` (a changed tag's open replaces its version), and each tag gone with its key alone, `op = 'close'`, carrying run $run_id and $snapshot_at.
SELECT * EXCLUDE (change, history_row, gone, op) REPLACE (
           coalesce(run_id, $run_id) AS run_id,
           coalesce(snapshot_at, $snapshot_at::TIMESTAMPTZ) AS snapshot_at
       ),
       change AS op
FROM listing_changes('version_scope', 'version_listed', 'version_current')
WHERE change = 'open' OR gone;
