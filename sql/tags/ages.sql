-- Current tags and bytes per age bucket (age_bucket), since creation (tag_age) and since the last push (staleness_buckets); the dashboard's age and staleness histograms.
SELECT 'age' AS measure, age_bucket AS bucket, count(*) AS tags, sum(size::HUGEINT) AS total_size,
       min(age_days) AS from_days
FROM tag_age GROUP BY age_bucket
UNION ALL
SELECT 'staleness', bucket, tags, total_size, from_days FROM staleness_buckets
ORDER BY measure, from_days NULLS LAST;
