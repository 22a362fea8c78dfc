-- The bucket of an age in days: <7d, <30d, <90d, <180d, <1y, <2y or >=2y (NULL: unknown); tag_age buckets ages and staleness with it.
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
