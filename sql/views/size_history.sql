-- The growth curve: per run and repository, tags and total/unique bytes; a failed target is a gap, never a zero.
CREATE OR REPLACE VIEW size_history AS
SELECT run_id, seq, snapshot_at, endpoint, namespace, repository, tags,
       coalesce(total_size, 0) AS total_size, coalesce(unique_size, 0) AS unique_size
FROM target_runs
WHERE status = 'ok';
