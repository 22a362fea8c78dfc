-- The changed tags between runs $f and $t (tag_diff), in repository and tag order; the diff's changes.
SELECT change, endpoint, namespace, repository, tag, old_digest, new_digest, old_size, new_size
FROM tag_diff($f, $t)
ORDER BY endpoint, namespace, repository, tag;
