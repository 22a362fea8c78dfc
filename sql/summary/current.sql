-- What each endpoint holds now: current tags, total and unique bytes (each digest once per endpoint) for the metrics file; namespace_summary's endpoint rows, from the current versions alone.
WITH current_tags AS (
    SELECT endpoint, digest, size FROM tag_history WHERE valid_to_seq IS NULL
),
totals AS (
    SELECT endpoint, count(*) AS tags, coalesce(sum(size::HUGEINT), 0) AS total_size
    FROM current_tags
    GROUP BY endpoint
),
uniques AS (
    SELECT endpoint, sum(size::HUGEINT) AS unique_size
    FROM (SELECT DISTINCT endpoint, digest, size FROM current_tags)
    GROUP BY endpoint
)
SELECT endpoint, tags, total_size, unique_size
FROM totals JOIN uniques USING (endpoint)
ORDER BY endpoint;
