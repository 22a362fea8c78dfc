-- The one definition of "repositories": every repository whose latest sync found it (`ok`), empty ones included, with that sync; one SWR says is gone (`not_found`) or that left the configured scope (`untracked`) is not, and a failed sync keeps what was known. Every count of repositories reads it.
CREATE OR REPLACE VIEW repositories_synced AS
SELECT endpoint, namespace, repository, seq, run_id, snapshot_at AS as_of
FROM target_syncs
WHERE latest AND status = 'ok';
