-- The dashboard's top 15 repositories by unique bytes and one `other` row for the rest (members: how many it stands for), with total bytes and, where manifests were collected, layer bytes. The other row's unique and layer bytes count each image and layer once across its members.
WITH ranked AS (
    SELECT endpoint, namespace, repository, tags, total_size, unique_size,
           row_number() OVER (ORDER BY unique_size DESC, endpoint, namespace, repository) AS rank
    FROM repo_summary
),
layers AS (
    SELECT endpoint, namespace, repository, layer_bytes FROM layer_storage WHERE level = 'repository'
),
rest AS (SELECT endpoint, namespace, repository FROM ranked WHERE rank > 15)
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, endpoint || ':' || namespace || '/' || repository AS repository, 1 AS members,
           tags, total_size, unique_size, layer_bytes
    FROM ranked LEFT JOIN layers USING (endpoint, namespace, repository)
    WHERE rank <= 15
    UNION ALL
    SELECT NULL, 'other', count(*), sum(tags), sum(total_size),
           (SELECT sum(size) FROM (SELECT endpoint, image, max(size) AS size FROM current_images
                                   SEMI JOIN rest USING (endpoint, namespace, repository)
                                   GROUP BY ALL)),
           (SELECT sum(layer_size) FROM (SELECT DISTINCT endpoint, layer, layer_size
                                         FROM image_layers
                                         SEMI JOIN rest USING (endpoint, namespace, repository)))
    FROM ranked
    WHERE rank > 15
    HAVING count(*) > 0
)
ORDER BY rank NULLS LAST;
