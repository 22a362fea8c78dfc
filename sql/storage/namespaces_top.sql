-- Storage by organization (namespace): the 15 biggest by unique size and one `other` row (top_storage), with layer bytes; the dashboard's organizations.
SELECT name AS organization, members, repositories, tags, total_size, unique_size, layer_bytes
FROM top_storage('namespace', 15);
