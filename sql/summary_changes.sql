-- The end-of-run summary's changes since the previous run: tags per kind, bytes the new versions brought and the old ones held.
SELECT change, count(*) AS tags,
       coalesce(sum(new_size::HUGEINT) FILTER (WHERE change IN ('added', 'retagged')), 0) AS bytes_added,
       coalesce(sum(old_size::HUGEINT) FILTER (WHERE change IN ('removed', 'retagged')), 0) AS bytes_freed
FROM tag_changes
WHERE to_run = $run_id
GROUP BY change
ORDER BY change;
