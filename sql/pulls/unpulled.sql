-- The $top largest repositories nobody has pulled from for $days days of observation (unpulled_repositories) and nobody has pushed to for as long: the report's cleanup candidates.
SELECT namespace, repository, tags, unique_size, num_download,
       round(unpulled_days, 1) AS unpulled_days, last_push
FROM unpulled_repositories($days)
WHERE last_push IS NULL OR days_between(last_push, as_of) >= $days
ORDER BY unique_size DESC NULLS LAST, namespace, repository
LIMIT $top;
