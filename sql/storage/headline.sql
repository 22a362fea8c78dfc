-- How much the warehouse holds now, as the dashboard's headline says it: repositories, tags, total and unique bytes (warehouse_totals), layer bytes where manifests were collected (and of how many images), and as of when.
SELECT repositories, tags, total_size, unique_size,
       (SELECT sum(layer_bytes) FROM layer_storage WHERE level = 'endpoint') AS layer_bytes,
       (SELECT sum(images) FROM layer_storage WHERE level = 'endpoint') AS layered_images,
       (SELECT count(*) FROM current_images) AS images,
       (SELECT max(as_of) FROM tags_current) AS as_of
FROM warehouse_totals;
