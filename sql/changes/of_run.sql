-- What run $run_id changed, per kind (changes_per_run of this run alone): tags, bytes added and bytes freed (an untracked tag frees nothing); the end-of-run summary's changes.
WITH run AS (
    SELECT seq FROM runs WHERE run_id = $run_id
)
SELECT change, tags, bytes_added, bytes_freed
FROM changes_per_run((SELECT seq FROM run), (SELECT seq FROM run))
ORDER BY change;
