-- Writer names that more than one writer (identity) has used: two machines whose configs share a name.
SELECT writer, count(DISTINCT writer_id) AS writers
FROM runs
WHERE writer IS NOT NULL AND writer_id IS NOT NULL
GROUP BY writer
HAVING count(DISTINCT writer_id) > 1
ORDER BY writer;
