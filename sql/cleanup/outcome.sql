-- Per repository, what applying a cleanup plan did (its attempts registered as `attempted`): tags deleted, already gone, changed since the plan (kept), refused by the plan's own rule (kept) and failed, and what its DELETEs freed (each image once: the size SWR listed for the image a confirmed DELETE removed).
SELECT endpoint, namespace, repository,
       count(*) FILTER (WHERE result = 'deleted') AS deleted,
       count(*) FILTER (WHERE result = 'gone') AS gone,
       count(*) FILTER (WHERE result = 'changed') AS changed,
       count(*) FILTER (WHERE result = 'refused') AS refused,
       count(*) FILTER (WHERE result = 'failed') AS failed,
       coalesce(sum(freed_size::HUGEINT), 0) AS freed_size
FROM attempted
GROUP BY ALL
ORDER BY failed + changed + refused DESC, freed_size DESC, endpoint, namespace, repository;
