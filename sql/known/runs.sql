-- How many runs the warehouse holds.
SELECT count(*) FROM runs;
