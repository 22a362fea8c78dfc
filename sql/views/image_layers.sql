-- The layers (and config blob) of each current image whose manifest was collected (crawl.with_manifest), with their sizes; schema 1 manifests and manifest lists carry no layer sizes, so they are left out. layer_storage adds them up.
CREATE OR REPLACE VIEW image_layers AS
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
)
SELECT endpoint, namespace, repository, image, image_size, blob.digest AS layer,
       blob.size AS layer_size
FROM blobs
WHERE blob.digest IS NOT NULL AND blob.size IS NOT NULL;
