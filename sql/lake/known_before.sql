-- What `thin` compares a run's whole listings with (listing_changes): the lake's state before the run (`lake_known`, the state query) of the repositories compared, held once.
CREATE OR REPLACE TEMP TABLE thin_current AS
SELECT NULL::BIGINT AS history_row, k.*
FROM lake_known AS k
SEMI JOIN version_targets USING (endpoint, namespace, repository);
CREATE OR REPLACE TEMP VIEW version_current AS SELECT * FROM thin_current;
