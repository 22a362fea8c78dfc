-- Current tags by size, largest first, with their rank.
CREATE OR REPLACE VIEW largest_tags AS
SELECT
    row_number() OVER (ORDER BY size DESC NULLS LAST, endpoint, namespace, repository, tag) AS rank,
    endpoint, namespace, repository, tag, digest, size, tag_type, updated, as_of
FROM tags_current
ORDER BY rank;
