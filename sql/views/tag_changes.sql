-- What changed between consecutive syncs of each repository, one row per changed tag: added, removed, retagged (other digest), repushed (same digest, newer push), modified (other fields) or untracked (left the configured scope). A repository's first sync, its return to the scope and a new tag filter are baselines, not changes; a repository new to a pattern that had synced before shows its tags added.
CREATE OR REPLACE VIEW tag_changes AS
SELECT * EXCLUDE (old_payload, new_payload)
FROM run_changes(0, 9223372036854775807);
