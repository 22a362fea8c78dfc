-- Storage by repository: the 15 biggest by unique size and one `other` row (top_storage), with layer bytes; the dashboard's top repositories.
SELECT name AS repository, members, tags, total_size, unique_size, layer_bytes
FROM top_storage('repository', 15);
