-- Which writer (config) last synced each repository, and in which run: a plan compares them
-- with its own, since two configs that share a lake must not sync the same repository.
SELECT t.endpoint, t.namespace, t.repository, arg_max(r.writer, t.seq), arg_max(t.run_id, t.seq)
FROM target_runs AS t
JOIN runs AS r USING (run_id)
WHERE r.writer IS NOT NULL
GROUP BY ALL;
