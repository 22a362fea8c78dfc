-- Per repository, what a cleanup plan (its tags registered as `planned`) deletes: how many tags, their total size, what deleting them frees (each image once) and the oldest push among them; most freed first.
SELECT endpoint, namespace, repository, count(*) AS tags, sum(size::HUGEINT) AS total_size,
       sum(freed_size::HUGEINT) AS freed_size, min(updated) AS oldest_push
FROM planned
GROUP BY ALL
ORDER BY freed_size DESC, endpoint, namespace, repository;
