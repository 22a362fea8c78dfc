-- The $top biggest namespaces by unique size (storage_ranking), with their repositories, tags, bytes and last push; the report's namespaces.
SELECT endpoint, namespace, repositories, tags, total_size, unique_size, last_push
FROM storage_ranking('namespace')
WHERE rank <= $top
ORDER BY rank;
