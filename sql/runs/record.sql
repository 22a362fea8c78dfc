-- Run $run_id's own record (runs): when it ran, its status and counts (no row: no such run); the end-of-run summary's first line, and how a diff tells a run id from a date.
SELECT * FROM runs WHERE run_id = $run_id;
