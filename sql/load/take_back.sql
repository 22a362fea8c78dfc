-- Takes back every run loaded at sequence number $seq or later, as if it had never been loaded: the versions it opened and the closes it made, its records. The lake keeps those runs; the catch-up loads them again after the run that sorts before them.
DELETE FROM tag_history WHERE valid_from_seq >= $seq;
UPDATE tag_history SET valid_to_seq = NULL, valid_to_run = NULL, valid_to = NULL
WHERE valid_to_seq >= $seq;
DELETE FROM repository_history WHERE valid_from_seq >= $seq;
UPDATE repository_history SET valid_to_seq = NULL, valid_to_run = NULL, valid_to = NULL
WHERE valid_to_seq >= $seq;
DELETE FROM manifests WHERE first_run_id IN (SELECT run_id FROM runs WHERE seq >= $seq);
DELETE FROM discoveries WHERE seq >= $seq;
DELETE FROM run_totals WHERE seq >= $seq;
DELETE FROM target_runs WHERE seq >= $seq;
DELETE FROM runs WHERE seq >= $seq;
