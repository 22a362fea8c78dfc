-- What the runs from `first_seq` to `last_seq` changed, one row per changed tag and sync: added, removed, retagged (other digest), repushed (same digest, newer push), modified (other fields), or untracked (it left the configured scope: not a removal, frees nothing). A baseline sync (see target_syncs) adds nothing. The one definition of a change: tag_changes, tag_diff and the run summary read it.
CREATE OR REPLACE MACRO run_changes(first_seq, last_seq) AS TABLE
WITH syncs AS (
    SELECT * FROM target_syncs WHERE seq BETWEEN first_seq AND last_seq
),
opened AS (
    SELECT h.*, s.seq AS sync_seq, s.baseline
    FROM tag_history AS h
    JOIN syncs AS s
      ON s.endpoint = h.endpoint AND s.namespace = h.namespace AND s.repository = h.repository
     AND s.seq = h.valid_from_seq
),
closed AS (
    SELECT h.*, s.seq AS sync_seq
    FROM tag_history AS h
    JOIN syncs AS s
      ON s.endpoint = h.endpoint AND s.namespace = h.namespace AND s.repository = h.repository
     AND s.seq = h.valid_to_seq
),
paired AS (
    SELECT coalesce(n.endpoint, o.endpoint) AS endpoint,
           coalesce(n.namespace, o.namespace) AS namespace,
           coalesce(n.repository, o.repository) AS repository,
           coalesce(n.tag, o.tag) AS tag,
           coalesce(n.sync_seq, o.sync_seq) AS to_seq,
           o.tag AS old_tag, n.tag AS new_tag, n.baseline,
           o.digest AS old_digest, n.digest AS new_digest, o.size AS old_size,
           n.size AS new_size, o.updated AS old_updated, n.updated AS new_updated,
           CASE WHEN o.tag IS NOT NULL THEN tag_payload(o) END AS old_payload,
           CASE WHEN n.tag IS NOT NULL THEN tag_payload(n) END AS new_payload
    FROM opened AS n
    FULL JOIN closed AS o
      ON o.endpoint = n.endpoint AND o.namespace = n.namespace
     AND o.repository = n.repository AND o.tag = n.tag AND o.sync_seq = n.sync_seq
)
SELECT p.endpoint, p.namespace, p.repository, p.tag,
       CASE
           WHEN p.new_tag IS NULL AND (s.status = 'untracked' OR s.baseline) THEN 'untracked'
           ELSE change_kind(p.old_tag, p.new_tag, p.old_digest, p.new_digest, p.old_updated,
                            p.new_updated)
       END AS change,
       p.old_digest, p.new_digest, p.old_size, p.new_size, p.old_updated, p.new_updated,
       s.from_run, s.from_at, s.run_id AS to_run, s.snapshot_at AS to_at, s.seq AS to_seq,
       p.old_payload, p.new_payload
FROM paired AS p
JOIN syncs AS s
  ON s.endpoint = p.endpoint AND s.namespace = p.namespace AND s.repository = p.repository
 AND s.seq = p.to_seq
WHERE NOT (p.old_tag IS NULL AND s.baseline);
