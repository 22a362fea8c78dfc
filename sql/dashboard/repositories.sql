-- The dashboard's top repositories by unique bytes, with total bytes beside them.
SELECT endpoint || ':' || namespace || '/' || repository AS repository, tags, total_size,
       unique_size
FROM repo_summary
ORDER BY unique_size DESC, repository
LIMIT 15;
