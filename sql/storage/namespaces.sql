-- The report's namespaces: the $top biggest by unique size.
SELECT endpoint, namespace, repositories, tags, total_size, unique_size, last_push
FROM namespace_summary
WHERE level = 'namespace'
ORDER BY unique_size DESC, endpoint, namespace
LIMIT $top;
