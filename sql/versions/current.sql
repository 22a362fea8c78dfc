-- The warehouse's current versions, with their rowids (`history_row`), as listing_changes compares them: for the lake's changes of a sync, and for the load beside a crawl, which reads them outside its run's transaction (the versions current before the run).
CREATE OR REPLACE TEMP VIEW version_current AS
SELECT h.rowid AS history_row,
       h.* EXCLUDE (valid_from_seq, valid_from_run, valid_from, valid_to_seq, valid_to_run,
                    valid_to)
FROM tag_history AS h
WHERE h.valid_to_seq IS NULL;
