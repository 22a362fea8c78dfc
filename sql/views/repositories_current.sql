-- The latest metadata of every repository that exists, as of its organization's latest complete discovery; a deleted repository leaves it (its history stays).
CREATE OR REPLACE VIEW repositories_current AS
WITH latest AS (
    SELECT endpoint, namespace, max(seq) AS seq
    FROM discoveries
    WHERE status = 'ok' AND namespace IS NOT NULL
    GROUP BY ALL
)
SELECT h.endpoint, h.namespace, h.repository, h.id, h.category, h.description, h.size,
       h.is_public, h.num_images, h.num_download, h.created_at, h.updated_at, h.domain_name,
       h.status, r.started_at AS as_of, r.run_id AS as_of_run, h.valid_from AS version_since
FROM repository_history AS h
JOIN latest AS l ON l.endpoint = h.endpoint AND l.namespace = h.namespace
JOIN runs AS r ON r.seq = l.seq
WHERE h.valid_to_seq IS NULL;
