-- What `thin` compares a run's whole listings with (listing_changes): the lake's state before the run (`lake_known`, the state query) of the repositories compared, as keys and fingerprints (tag_version), held once.
CREATE OR REPLACE TEMP TABLE thin_current AS
SELECT NULL::BIGINT AS history_row, k.endpoint, k.namespace, k.repository, k.tag,
       tag_version(k) AS version
FROM lake_known AS k
SEMI JOIN version_targets USING (endpoint, namespace, repository);
CREATE OR REPLACE TEMP VIEW version_current AS SELECT * FROM thin_current;
