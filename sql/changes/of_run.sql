-- The end-of-run summary's changes: tags per kind and bytes added and freed, from run_changes for this run alone (an untracked tag frees nothing).
WITH run AS (
    SELECT seq FROM runs WHERE run_id = $run_id
)
SELECT change, count(*) AS tags,
       coalesce(sum(new_size::HUGEINT) FILTER (WHERE change IN ('added', 'retagged')), 0)
           AS bytes_added,
       coalesce(sum(old_size::HUGEINT) FILTER (WHERE change IN ('removed', 'retagged')), 0)
           AS bytes_freed
FROM run_changes((SELECT seq FROM run), (SELECT seq FROM run))
GROUP BY change
ORDER BY change;
