-- How many current tags and bytes were last pushed within each age bucket (<7d … >=2y).
CREATE OR REPLACE VIEW staleness_buckets AS
SELECT
    staleness_bucket AS bucket,
    count(*) AS tags,
    sum(size::HUGEINT) AS total_size,
    min(staleness_days) AS from_days
FROM tag_age
GROUP BY staleness_bucket
ORDER BY from_days NULLS LAST;
