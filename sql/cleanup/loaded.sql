-- The applies of cleanup plans whose attempts the warehouse holds: each apply's lake file is loaded once.
SELECT DISTINCT apply_id FROM cleanup_deletions;
