-- The report's repositories: the $top biggest by unique size.
SELECT endpoint, namespace, repository, tags, total_size, unique_size, last_push
FROM repo_summary
ORDER BY unique_size DESC, endpoint, namespace, repository
LIMIT $top;
