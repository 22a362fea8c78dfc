-- What each endpoint holds after run $run_id (run_totals): repositories, current tags, total bytes and unique bytes (unique_sizes' endpoint rows); the end-of-run summary's and the metrics file's.
SELECT endpoint, repositories, tags, total_size, unique_size
FROM run_totals
WHERE run_id = $run_id
ORDER BY endpoint;
