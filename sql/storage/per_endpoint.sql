-- What each endpoint holds after the run (run_totals): current tags, total bytes and unique bytes (unique_sizes' endpoint rows), for the summary and the metrics file.
SELECT endpoint, repositories, tags, total_size, unique_size
FROM run_totals
WHERE run_id = $run_id
ORDER BY endpoint;
