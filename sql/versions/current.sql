-- The warehouse's current versions as listing_changes compares them (key, fingerprint, rowid): for the lake's changes of a sync, and for the load beside a crawl, which reads them outside its run's transaction (the versions current before the run).
CREATE OR REPLACE TEMP VIEW version_current AS
SELECT h.rowid AS history_row, h.endpoint, h.namespace, h.repository, h.tag,
       tag_version(h) AS version
FROM tag_history AS h
WHERE h.valid_to_seq IS NULL;
