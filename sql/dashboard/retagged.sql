-- The dashboard's latest retagged tags: moved to another digest, the surprise people look for.
SELECT to_at AS moved_at, endpoint || ':' || namespace || '/' || repository || ':' || tag AS tag,
       left(old_digest, 19) AS old_digest, left(new_digest, 19) AS new_digest
FROM tag_changes
WHERE change = 'retagged'
ORDER BY to_at DESC, tag
LIMIT 10;
