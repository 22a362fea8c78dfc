-- The 10 largest current tags (largest_tags), labelled, and one `other` row for every other current tag (members: how many it stands for); the dashboard's largest tags.
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, target_label(endpoint, namespace, repository, tag) AS tag, 1 AS members, size
    FROM largest_tags WHERE rank <= 10
    UNION ALL
    SELECT NULL, 'other', count(*), sum(size::HUGEINT) FROM largest_tags WHERE rank > 10
    HAVING count(*) > 0
)
ORDER BY rank NULLS LAST;
