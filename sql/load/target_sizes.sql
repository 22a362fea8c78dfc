-- The sizes of each target the run synced `ok`, from its tags after the run (whether the lake keeps them whole or as changes): total bytes, and unique bytes as unique_sizes defines them for a repository, each image once. Sums never overflow.
UPDATE target_runs AS t
SET total_size = s.total_size, unique_size = s.unique_size
FROM (
    SELECT endpoint, namespace, repository,
           sum(image_size) AS total_size, sum(one_size) AS unique_size
    FROM (
        SELECT h.endpoint, h.namespace, h.repository, image_of(h.digest, h.tag) AS image,
               sum(h.size::HUGEINT) AS image_size, max(h.size)::HUGEINT AS one_size
        FROM tag_history AS h
        SEMI JOIN target_runs AS r
          ON r.endpoint = h.endpoint AND r.namespace = h.namespace
         AND r.repository = h.repository AND r.seq = $seq AND r.status = 'ok'
        WHERE h.valid_to_seq IS NULL
        GROUP BY ALL
    )
    GROUP BY ALL
) AS s
WHERE t.seq = $seq AND t.endpoint = s.endpoint AND t.namespace = s.namespace
  AND t.repository = s.repository;
