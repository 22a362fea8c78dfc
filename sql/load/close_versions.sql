-- Ends the current version of each tag of a synced target that this run shows changed or gone.
UPDATE tag_history
SET valid_to_seq = $seq, valid_to_run = $run_id, valid_to = $snapshot_at
WHERE rowid IN (SELECT history_row FROM staged_diff);
