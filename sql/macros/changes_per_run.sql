-- Per run from `first_seq` to `last_seq` (to_seq) and kind of change (run_changes): how many tags, the bytes added (added and retagged tags: their new size) and the bytes freed (removed and retagged tags: their old size; an untracked tag frees nothing). The end-of-run summary and the dashboard's changes per run read it.
CREATE OR REPLACE MACRO changes_per_run(first_seq, last_seq) AS TABLE
SELECT to_seq, change, count(*) AS tags,
       coalesce(sum(new_size::HUGEINT) FILTER (WHERE change IN ('added', 'retagged')), 0)
           AS bytes_added,
       coalesce(sum(old_size::HUGEINT) FILTER (WHERE change IN ('removed', 'retagged')), 0)
           AS bytes_freed
FROM run_changes(first_seq, last_seq)
GROUP BY to_seq, change;
