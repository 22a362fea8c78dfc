-- Per repository, what a cleanup plan (its tags registered as `planned`) deletes: how many tags, their total size, what deleting them frees (each image once: its digest's size, computed here, never the file's own figures) and the oldest push among them; most freed first.
WITH images AS (
    SELECT endpoint, namespace, repository, digest, max(size) AS size
    FROM planned
    GROUP BY ALL
),
freed AS (
    SELECT endpoint, namespace, repository, sum(size::HUGEINT) AS freed_size
    FROM images
    GROUP BY ALL
)
SELECT p.endpoint, p.namespace, p.repository, count(*) AS tags,
       sum(p.size::HUGEINT) AS total_size, any_value(f.freed_size) AS freed_size,
       min(p.updated) AS oldest_push
FROM planned AS p
JOIN freed AS f USING (endpoint, namespace, repository)
GROUP BY p.endpoint, p.namespace, p.repository
ORDER BY freed_size DESC, p.endpoint, p.namespace, p.repository;
