-- Digests referenced by more than one current tag, within and across repositories, with the tags.
CREATE OR REPLACE VIEW digest_reuse AS
SELECT
    digest,
    any_value(size) AS size,
    count(*) AS tags,
    count(DISTINCT (endpoint, namespace, repository)) AS repositories,
    count(DISTINCT (endpoint, namespace, repository)) > 1 AS across_repositories,
    list(target_label(endpoint, namespace, repository, tag)
         ORDER BY endpoint, namespace, repository, tag) AS tag_refs
FROM tags_current
WHERE digest IS NOT NULL
GROUP BY digest
HAVING count(*) > 1;
