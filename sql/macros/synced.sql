-- Whether a target_runs status says what the repository holds after the run: `ok` (its tags), `not_found` (SWR says it is gone: nothing) or `untracked` (it left the configured scope: nothing tracked). A `failed` target says nothing: its previous snapshot stands.
CREATE OR REPLACE MACRO synced(status) AS status IN ('ok', 'not_found', 'untracked');
