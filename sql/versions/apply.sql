-- Ends the versions in `version_closes` and starts one for each tag in `version_opens` (versions/compare), as of the run given (its seq, id and snapshot time). A version ends by being written again with its end and the old row deleted: DuckDB holds an UPDATE's old values in memory until the commit (about 300 bytes a row, some never spilled), where a delete marks rows and an insert spills, so a run that changes every tag fits the sync's memory.
CREATE OR REPLACE TEMP TABLE version_ending AS SELECT history_row FROM version_closes;
INSERT INTO tag_history BY NAME
SELECT * REPLACE ($seq AS valid_to_seq, $run_id AS valid_to_run,
                  $snapshot_at::TIMESTAMPTZ AS valid_to)
FROM tag_history WHERE rowid IN (SELECT history_row FROM version_ending);
DELETE FROM tag_history WHERE rowid IN (SELECT history_row FROM version_ending);
INSERT INTO tag_history BY NAME
SELECT * EXCLUDE (run_id, snapshot_at, deleted, scanned, op),
       $seq AS valid_from_seq, $run_id AS valid_from_run, $snapshot_at AS valid_from
FROM version_opens;
