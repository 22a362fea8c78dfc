-- The one definition of "unique size": each image (digest) once within the group a row stands for — a repository, a namespace, an endpoint (across endpoints, add the endpoints' rows). Every surface that shows a unique size reads it here.
CREATE OR REPLACE VIEW unique_sizes AS
WITH images AS (
    SELECT endpoint, namespace, repository, image_of(digest, tag) AS image,
           max(size)::HUGEINT AS size
    FROM tags_current
    GROUP BY ALL
)
SELECT 'repository' AS level, endpoint, namespace, repository, sum(size) AS unique_size
FROM images
GROUP BY ALL
UNION ALL
SELECT 'namespace', endpoint, namespace, NULL, sum(size)
FROM (SELECT endpoint, namespace, image, max(size) AS size FROM images GROUP BY ALL)
GROUP BY ALL
UNION ALL
SELECT 'endpoint', endpoint, NULL, NULL, sum(size)
FROM (SELECT endpoint, image, max(size) AS size FROM images GROUP BY ALL)
GROUP BY ALL;
