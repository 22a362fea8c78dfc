-- The one definition of "unique size": each image (current_images) once within the group a row stands for — a repository, a namespace, an endpoint (across endpoints, add the endpoints' rows). Every surface that shows a unique size reads it here, or sums current_images once per image of its own group.
CREATE OR REPLACE VIEW unique_sizes AS
SELECT 'repository' AS level, endpoint, namespace, repository, sum(size) AS unique_size
FROM current_images
GROUP BY ALL
UNION ALL
SELECT 'namespace', endpoint, namespace, NULL, sum(size)
FROM (SELECT endpoint, namespace, image, max(size) AS size FROM current_images GROUP BY ALL)
GROUP BY ALL
UNION ALL
SELECT 'endpoint', endpoint, NULL, NULL, sum(size)
FROM (SELECT endpoint, image, max(size) AS size FROM current_images GROUP BY ALL)
GROUP BY ALL;
