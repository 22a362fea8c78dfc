-- The real storage footprint where manifests were collected: distinct layer bytes (shared layers once) next to the sum of image sizes, per repository and per namespace.
CREATE OR REPLACE VIEW layer_storage AS
WITH images AS (
    SELECT DISTINCT t.endpoint, t.namespace, t.repository, t.digest AS image, t.size AS image_size,
                    m.manifest
    FROM tags_current AS t
    JOIN manifests AS m USING (digest)
),
blobs AS (
    SELECT endpoint, namespace, repository, image, image_size,
           unnest(list_concat(
               coalesce(from_json(manifest, '{"layers": [{"digest": "VARCHAR", "size": "BIGINT"}]}').layers, []),
               [from_json(manifest, '{"config": {"digest": "VARCHAR", "size": "BIGINT"}}').config]
           )) AS blob
    FROM images
),
layered AS (
    -- Schema 1 manifests and manifest lists carry no layer sizes, so they are left out.
    SELECT endpoint, namespace, repository, image, image_size,
           blob.digest AS layer, blob.size AS layer_size
    FROM blobs
    WHERE blob.digest IS NOT NULL AND blob.size IS NOT NULL
),
repository_images AS (
    SELECT endpoint, namespace, repository, count(*) AS images, sum(image_size::HUGEINT) AS image_size
    FROM (SELECT DISTINCT endpoint, namespace, repository, image, image_size FROM layered)
    GROUP BY ALL
),
repository_layers AS (
    SELECT endpoint, namespace, repository, count(*) AS layers, sum(layer_size::HUGEINT) AS layer_bytes
    FROM (SELECT DISTINCT endpoint, namespace, repository, layer, layer_size FROM layered)
    GROUP BY ALL
),
namespace_images AS (
    SELECT endpoint, namespace, count(*) AS images, sum(image_size::HUGEINT) AS image_size
    FROM (SELECT DISTINCT endpoint, namespace, repository, image, image_size FROM layered)
    GROUP BY ALL
),
namespace_layers AS (
    SELECT endpoint, namespace, count(*) AS layers, sum(layer_size::HUGEINT) AS layer_bytes
    FROM (SELECT DISTINCT endpoint, namespace, layer, layer_size FROM layered)
    GROUP BY ALL
)
SELECT 'repository' AS level, endpoint, namespace, repository, images, image_size, layers,
       layer_bytes, image_size - layer_bytes AS shared_bytes
FROM repository_images JOIN repository_layers USING (endpoint, namespace, repository)
UNION ALL
SELECT 'namespace' AS level, endpoint, namespace, NULL AS repository, images, image_size, layers,
       layer_bytes, image_size - layer_bytes AS shared_bytes
FROM namespace_images JOIN namespace_layers USING (endpoint, namespace);
