-- Adds the sizes of the staged tags' targets (a digest's bytes count once per repository in
-- unique_size, however many tags share it; sums never overflow).
INSERT INTO staged_sizes
SELECT endpoint, namespace, repository, sum(digest_size), sum(one_size)
FROM (
    SELECT endpoint, namespace, repository, digest,
           sum(size::HUGEINT) AS digest_size, any_value(size)::HUGEINT AS one_size
    FROM staged_tags
    GROUP BY ALL
)
GROUP BY ALL;
