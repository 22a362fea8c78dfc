-- The registry as it stood after a committed run of the lake (`wanted`: a run id, or NULL for the latest), over the views `runs`, `target_runs`, `tag_snapshots` and `tag_deltas`: the query of docs/other-engines.md, word for word (tests/test_thinning.py checks they are one text); `swr-etl thin` reads with it the state a run's whole listings are compared with.
WITH wanted AS (SELECT CAST(NULL AS STRING) AS run_id),  -- a run id, or NULL: the latest
ordered AS (  -- committed runs in load order: older runs without seq first, then by start
    SELECT run_id, row_number() OVER (
               ORDER BY CASE WHEN seq IS NULL THEN 0 ELSE 1 END,
                        CASE WHEN seq IS NULL THEN run_id END, started_at, seq, run_id) AS pos
    FROM runs
),
upto AS (
    SELECT max(o.pos) AS pos
    FROM ordered o CROSS JOIN wanted w
    WHERE w.run_id IS NULL OR o.run_id = w.run_id
),
syncs AS (  -- syncs that say what a repository holds (a failed one keeps what was known)
    SELECT t.endpoint, t.namespace, t.repository, o.pos,
           coalesce(t.listing, 'full') AS listing
    FROM target_runs t JOIN ordered o ON o.run_id = t.run_id
    WHERE t.status IN ('ok', 'not_found', 'untracked') AND o.pos <= (SELECT pos FROM upto)
),
whole AS (  -- each repository's last sync that stored it whole (not found: nothing; 0: none)
    SELECT endpoint, namespace, repository,
           coalesce(max(CASE WHEN listing <> 'delta' THEN pos END), 0) AS pos
    FROM syncs
    GROUP BY endpoint, namespace, repository
),
listed AS (
    SELECT s.*
    FROM tag_snapshots s JOIN ordered o ON o.run_id = s.run_id
    JOIN whole w ON w.endpoint = s.endpoint AND w.namespace = s.namespace
                AND w.repository = s.repository AND w.pos = o.pos
),
changed AS (  -- each tag's last change since
    SELECT * FROM (
        SELECT d.*, row_number() OVER (
                   PARTITION BY d.endpoint, d.namespace, d.repository, d.tag
                   ORDER BY o.pos DESC) AS newest
        FROM tag_deltas d JOIN ordered o ON o.run_id = d.run_id
        JOIN whole w ON w.endpoint = d.endpoint AND w.namespace = d.namespace
                    AND w.repository = d.repository AND o.pos > w.pos
        WHERE o.pos <= (SELECT pos FROM upto)
    ) x WHERE newest = 1
)
SELECT l.endpoint, l.namespace, l.repository, l.tag, l.id, l.repo_id, l.image_id, l.digest,
       l.schema, l.path, l.internal_path, l.size, l.is_trusted, l.created, l.updated,
       l.domain_id, l.tag_type, l.run_id
FROM listed l
WHERE NOT EXISTS (
    SELECT 1 FROM changed c
    WHERE c.endpoint = l.endpoint AND c.namespace = l.namespace
      AND c.repository = l.repository AND c.tag = l.tag)
UNION ALL
SELECT endpoint, namespace, repository, tag, id, repo_id, image_id, digest, schema, path,
       internal_path, size, is_trusted, created, updated, domain_id, tag_type, run_id
FROM changed
WHERE op = 'open';
