-- Storage at one level (`namespace` or `repository`): the top `top` by unique bytes (storage_ranking) and one `other` row for the rest (members: how many it stands for), with total bytes and, where manifests were collected, layer bytes. The other row's unique and layer bytes count each image and layer once across its members, as unique_sizes and layer_storage count them.
CREATE OR REPLACE MACRO top_storage(scope_level, top) AS TABLE
WITH ranked AS (SELECT * FROM storage_ranking(scope_level)),
rest AS (SELECT endpoint, namespace, repository FROM ranked WHERE rank > top),
-- A repository of the rest, or every repository of a namespace of the rest.
rest_images AS (
    SELECT i.endpoint, i.image, max(i.size) AS size
    FROM current_images i
    SEMI JOIN rest r ON r.endpoint = i.endpoint AND r.namespace = i.namespace
                        AND coalesce(r.repository, i.repository) = i.repository
    GROUP BY ALL
),
rest_layers AS (
    SELECT DISTINCT l.endpoint, l.layer, l.layer_size
    FROM image_layers l
    SEMI JOIN rest r ON r.endpoint = l.endpoint AND r.namespace = l.namespace
                        AND coalesce(r.repository, l.repository) = l.repository
)
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, name, 1 AS members, repositories, tags, total_size, unique_size, layer_bytes
    FROM ranked
    LEFT JOIN layer_storage s
        ON s.level = scope_level AND s.endpoint = ranked.endpoint
           AND s.namespace = ranked.namespace
           AND s.repository IS NOT DISTINCT FROM ranked.repository
    WHERE rank <= top
    UNION ALL
    SELECT NULL, 'other', count(*), sum(repositories), sum(tags), sum(total_size),
           (SELECT sum(size) FROM rest_images), (SELECT sum(layer_size) FROM rest_layers)
    FROM ranked
    WHERE rank > top
    HAVING count(*) > 0
)
ORDER BY rank NULLS LAST;
