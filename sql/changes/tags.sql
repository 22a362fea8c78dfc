-- The diff's changed tags between runs $f and $t, in repository and tag order.
SELECT change, endpoint, namespace, repository, tag, old_digest, new_digest, old_size, new_size
FROM tag_diff($f, $t)
ORDER BY endpoint, namespace, repository, tag;
