-- The $top biggest repositories by unique size (storage_ranking), with their tags, bytes and last push; the report's repositories.
SELECT endpoint, namespace, repository, tags, total_size, unique_size, last_push
FROM storage_ranking('repository')
WHERE rank <= $top
ORDER BY rank;
