-- Ends the versions in `version_closes` and starts one for each tag in `version_opens` (versions/compare), as of run $run_id ($seq, $snapshot_at).
UPDATE tag_history
SET valid_to_seq = $seq, valid_to_run = $run_id, valid_to = $snapshot_at
WHERE rowid IN (SELECT history_row FROM version_closes);
INSERT INTO tag_history BY NAME
SELECT * EXCLUDE (run_id, snapshot_at, deleted, scanned, op),
       $seq AS valid_from_seq, $run_id AS valid_from_run, $snapshot_at AS valid_from
FROM version_opens;
