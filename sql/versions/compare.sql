-- What the listings in `version_listed` open and close against `version_current`, for the repositories in `version_scope` (listing_changes): the versions to end (`version_closes`, their rowids) and the tags to start (`version_opens`, as listed).
CREATE OR REPLACE TEMP VIEW version_closes AS
SELECT history_row
FROM listing_changes('version_scope', 'version_listed', 'version_current')
WHERE change = 'close';
CREATE OR REPLACE TEMP VIEW version_opens AS
SELECT * EXCLUDE (change, history_row, gone)
FROM listing_changes('version_scope', 'version_listed', 'version_current')
WHERE change = 'open';
