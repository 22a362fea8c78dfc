-- Records the run itself, last: a run is in the warehouse whole or not at all.
INSERT INTO runs (run_id, seq, started_at, finished_at, status, targets, ok, not_found, failed,
                  tags, requests, retries, warnings, writer, writer_id)
SELECT run_id, $seq, started_at, finished_at, status, targets, ok, not_found, failed, tags,
       requests, retries, warnings, writer, writer_id
FROM staged_run;
