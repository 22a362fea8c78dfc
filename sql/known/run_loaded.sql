-- Whether run $run_id is already in the warehouse (a row if it is): a run is loaded only once.
SELECT 1 FROM runs WHERE run_id = $run_id;
