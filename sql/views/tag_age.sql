-- Every current tag with its age (since created) and staleness (since last push), in days and buckets.

-- The bucket of an age in days: <7d, <30d, <90d, <180d, <1y, <2y or >=2y (NULL: unknown).
CREATE OR REPLACE MACRO age_bucket(days) AS CASE
    WHEN days IS NULL THEN NULL
    WHEN days < 7 THEN '<7d'
    WHEN days < 30 THEN '<30d'
    WHEN days < 90 THEN '<90d'
    WHEN days < 180 THEN '<180d'
    WHEN days < 365 THEN '<1y'
    WHEN days < 730 THEN '<2y'
    ELSE '>=2y'
END;

CREATE OR REPLACE VIEW tag_age AS
SELECT
    endpoint, namespace, repository, tag, digest, size, created, updated, as_of,
    days_between(created, as_of) AS age_days,
    days_between(updated, as_of) AS staleness_days,
    age_bucket(days_between(created, as_of)) AS age_bucket,
    age_bucket(days_between(updated, as_of)) AS staleness_bucket
FROM tags_current;
