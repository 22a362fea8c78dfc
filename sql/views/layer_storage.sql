-- The real storage footprint where manifests were collected: distinct layer bytes (shared layers once) next to the sum of image sizes, per repository, per namespace and per endpoint (image_layers).
CREATE OR REPLACE VIEW layer_storage AS
WITH repository_images AS (
    SELECT endpoint, namespace, repository, count(*) AS images, sum(image_size::HUGEINT) AS image_size
    FROM (SELECT DISTINCT endpoint, namespace, repository, image, image_size FROM image_layers)
    GROUP BY ALL
),
repository_layers AS (
    SELECT endpoint, namespace, repository, count(*) AS layers, sum(layer_size::HUGEINT) AS layer_bytes
    FROM (SELECT DISTINCT endpoint, namespace, repository, layer, layer_size FROM image_layers)
    GROUP BY ALL
),
namespace_images AS (
    SELECT endpoint, namespace, count(*) AS images, sum(image_size::HUGEINT) AS image_size
    FROM (SELECT DISTINCT endpoint, namespace, repository, image, image_size FROM image_layers)
    GROUP BY ALL
),
namespace_layers AS (
    SELECT endpoint, namespace, count(*) AS layers, sum(layer_size::HUGEINT) AS layer_bytes
    FROM (SELECT DISTINCT endpoint, namespace, layer, layer_size FROM image_layers)
    GROUP BY ALL
),
endpoint_images AS (
    SELECT endpoint, count(*) AS images, sum(image_size::HUGEINT) AS image_size
    FROM (SELECT DISTINCT endpoint, namespace, repository, image, image_size FROM image_layers)
    GROUP BY ALL
),
endpoint_layers AS (
    SELECT endpoint, count(*) AS layers, sum(layer_size::HUGEINT) AS layer_bytes
    FROM (SELECT DISTINCT endpoint, layer, layer_size FROM image_layers)
    GROUP BY ALL
)
SELECT 'repository' AS level, endpoint, namespace, repository, images, image_size, layers,
       layer_bytes, image_size - layer_bytes AS shared_bytes
FROM repository_images JOIN repository_layers USING (endpoint, namespace, repository)
UNION ALL
SELECT 'namespace' AS level, endpoint, namespace, NULL AS repository, images, image_size, layers,
       layer_bytes, image_size - layer_bytes AS shared_bytes
FROM namespace_images JOIN namespace_layers USING (endpoint, namespace)
UNION ALL
SELECT 'endpoint' AS level, endpoint, NULL AS namespace, NULL AS repository, images, image_size,
       layers, layer_bytes, image_size - layer_bytes AS shared_bytes
FROM endpoint_images JOIN endpoint_layers USING (endpoint);
