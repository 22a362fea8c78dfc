-- The current versions of one part of the synced targets that the run shows changed (tag_payload) or gone: not listed by a whole listing, or closed by a change.
CREATE OR REPLACE TEMP TABLE staged_diff AS
SELECT h.history_row
FROM staged_current AS h
LEFT JOIN (
    SELECT * EXCLUDE (run_id, snapshot_at)
    FROM staged_tags
    WHERE hash(endpoint, namespace, repository) % $parts = $part
) AS s
  ON s.endpoint = h.endpoint AND s.namespace = h.namespace AND s.repository = h.repository
 AND s.tag = h.tag
WHERE s.tag IS NULL OR s.op = 'close' OR tag_payload(h) IS DISTINCT FROM tag_payload(s);
