-- The dashboard's top 15 repositories by unique bytes and one `other` row (top_storage).
SELECT name AS repository, members, tags, total_size, unique_size, layer_bytes
FROM top_storage('repository', 15);
