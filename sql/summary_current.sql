-- What each endpoint holds now: current tags, total and unique bytes (for the metrics file).
SELECT endpoint, tags, total_size, unique_size
FROM namespace_summary
WHERE level = 'endpoint'
ORDER BY endpoint;
