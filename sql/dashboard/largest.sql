-- The dashboard's largest tags and most reused images.
SELECT 'largest' AS kind, endpoint || ':' || namespace || '/' || repository || ':' || tag AS name,
       size, NULL::BIGINT AS tags
FROM largest_tags WHERE rank <= 10
UNION ALL
SELECT 'reused', digest, size, tags FROM (SELECT * FROM digest_reuse ORDER BY tags DESC, digest LIMIT 10)
ORDER BY kind, size DESC;
