-- Every current tag with its age (since created) and staleness (since last push), in days and buckets (age_bucket).
CREATE OR REPLACE VIEW tag_age AS
SELECT
    endpoint, namespace, repository, tag, digest, size, created, updated, as_of,
    days_between(created, as_of) AS age_days,
    days_between(updated, as_of) AS staleness_days,
    age_bucket(days_between(created, as_of)) AS age_bucket,
    age_bucket(days_between(updated, as_of)) AS staleness_bucket
FROM tags_current;
