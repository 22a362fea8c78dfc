-- The dashboard's storage by organization: the top 15 and one `other` row (top_storage).
SELECT name AS organization, members, repositories, tags, total_size, unique_size, layer_bytes
FROM top_storage('namespace', 15);
