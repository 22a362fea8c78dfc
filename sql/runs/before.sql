-- The seq and id of the run before run $seq (no row for the first): what a diff compares with by default.
SELECT seq, run_id FROM runs WHERE seq < $seq ORDER BY seq DESC LIMIT 1;
