-- The id of every run the warehouse holds.
SELECT run_id FROM runs;
