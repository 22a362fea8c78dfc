-- Ends the versions load/early_closed_versions found (early_closes), in this run's transaction.
UPDATE tag_history
SET valid_to_seq = $seq, valid_to_run = $run_id, valid_to = $snapshot_at
WHERE rowid IN (SELECT history_row FROM early_closes);
