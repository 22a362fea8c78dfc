-- The images tagged most often (digest_reuse): the first 10, and how many reused images there are in all; the dashboard's reused images.
SELECT left(digest, 19) AS digest, size, tags, repositories,
       (SELECT count(*) FROM digest_reuse) AS reused_images
FROM digest_reuse
ORDER BY tags DESC, digest
LIMIT 10;
