-- Per repository, what applying a cleanup plan did (its attempts registered as `attempted`): tags deleted, already gone, changed since the plan (kept) and failed, and what the deleted and gone ones free (each image once, as the plan counted it).
SELECT endpoint, namespace, repository,
       count(*) FILTER (WHERE result = 'deleted') AS deleted,
       count(*) FILTER (WHERE result = 'gone') AS gone,
       count(*) FILTER (WHERE result = 'changed') AS changed,
       count(*) FILTER (WHERE result = 'failed') AS failed,
       coalesce(sum(freed_size::HUGEINT) FILTER (WHERE cleanup_done(result)), 0) AS freed_size
FROM attempted
GROUP BY ALL
ORDER BY failed + changed DESC, freed_size DESC, endpoint, namespace, repository;
