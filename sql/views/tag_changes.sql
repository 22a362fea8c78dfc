-- What changed between consecutive successful snapshots of each target: added, removed, retagged (other digest), repushed (same digest, newer push) or modified (other fields). A repository that discovery finds in a pattern that had synced before shows its first tags as added; any other first snapshot is a baseline, not a change.
CREATE OR REPLACE VIEW tag_changes AS
WITH scoped AS (
    SELECT endpoint, namespace, repository, seq, run_id, snapshot_at, selected_by,
           lag(seq) OVER w AS from_seq, lag(run_id) OVER w AS from_run,
           lag(snapshot_at) OVER w AS from_at,
           -- The pattern's previous run: a repository new to it changed since then.
           max(seq) OVER (PARTITION BY endpoint, selected_by ORDER BY seq
                          RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS scope_seq
    FROM target_runs
    WHERE status IN ('ok', 'not_found')
    WINDOW w AS (PARTITION BY endpoint, namespace, repository ORDER BY seq)
),
synced AS (
    SELECT s.endpoint, s.namespace, s.repository, s.seq, s.run_id, s.snapshot_at, s.from_seq,
           coalesce(s.from_run, p.run_id) AS from_run,
           coalesce(s.from_at, p.started_at) AS from_at,
           coalesce(s.selected_by, 'literal') <> 'literal' AND s.scope_seq IS NOT NULL
               AS appeared
    FROM scoped AS s
    LEFT JOIN runs AS p ON p.seq = s.scope_seq AND s.from_seq IS NULL
),
new_versions AS (
    SELECT h.*, s.seq, s.run_id, s.snapshot_at, s.from_run, s.from_at
    FROM tag_history AS h
    JOIN synced AS s
      ON s.endpoint = h.endpoint AND s.namespace = h.namespace AND s.repository = h.repository
     AND s.seq = h.valid_from_seq
    WHERE s.from_seq IS NOT NULL OR s.appeared
),
old_versions AS (
    SELECT h.*, s.seq, s.run_id, s.snapshot_at, s.from_run, s.from_at
    FROM tag_history AS h
    JOIN synced AS s
      ON s.endpoint = h.endpoint AND s.namespace = h.namespace AND s.repository = h.repository
     AND s.seq = h.valid_to_seq
)
SELECT
    coalesce(n.endpoint, o.endpoint) AS endpoint,
    coalesce(n.namespace, o.namespace) AS namespace,
    coalesce(n.repository, o.repository) AS repository,
    coalesce(n.tag, o.tag) AS tag,
    change_kind(o.tag, n.tag, o.digest, n.digest, o.updated, n.updated) AS change,
    o.digest AS old_digest, n.digest AS new_digest,
    o.size AS old_size, n.size AS new_size,
    o.updated AS old_updated, n.updated AS new_updated,
    coalesce(n.from_run, o.from_run) AS from_run,
    coalesce(n.from_at, o.from_at) AS from_at,
    coalesce(n.run_id, o.run_id) AS to_run,
    coalesce(n.snapshot_at, o.snapshot_at) AS to_at,
    coalesce(n.seq, o.seq) AS to_seq
FROM new_versions AS n
FULL JOIN old_versions AS o
  ON o.endpoint = n.endpoint AND o.namespace = n.namespace AND o.repository = n.repository
 AND o.tag = n.tag AND o.valid_to_seq = n.valid_from_seq;
