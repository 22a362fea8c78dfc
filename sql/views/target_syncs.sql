-- Every sync that says what a repository holds (see `synced`), with the one before it and whether it is a baseline: the first sync of a repository, its return after leaving the scope, and a sync under another tag filter start its history afresh and are not compared — unless a pattern that had synced before found a repository never seen (a new repository: its tags are added). `latest` marks each repository's latest such sync.
CREATE OR REPLACE VIEW target_syncs AS
WITH ordered AS (
    SELECT endpoint, namespace, repository, seq, run_id, snapshot_at, status, tag_filter,
           selected_by,
           lag(seq) OVER w AS prev_seq, lag(run_id) OVER w AS prev_run,
           lag(snapshot_at) OVER w AS prev_at, lag(status) OVER w AS prev_status,
           lag(tag_filter) OVER w AS prev_tag_filter,
           row_number() OVER (PARTITION BY endpoint, namespace, repository ORDER BY seq DESC)
               = 1 AS latest,
           -- The pattern's previous run: a repository new to it appeared since then.
           max(seq) OVER (PARTITION BY endpoint, selected_by ORDER BY seq
                          RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS scope_seq
    FROM target_runs
    WHERE synced(status)
    WINDOW w AS (PARTITION BY endpoint, namespace, repository ORDER BY seq)
)
SELECT o.endpoint, o.namespace, o.repository, o.seq, o.run_id, o.snapshot_at, o.status,
       o.tag_filter, o.selected_by, o.latest,
       coalesce(o.prev_seq, p.seq) AS from_seq,
       coalesce(o.prev_run, p.run_id) AS from_run,
       coalesce(o.prev_at, p.started_at) AS from_at,
       CASE
           WHEN o.prev_seq IS NULL THEN NOT o.appeared
           ELSE o.prev_status = 'untracked' OR o.tag_filter IS DISTINCT FROM o.prev_tag_filter
       END AS baseline
FROM (
    SELECT *, prev_seq IS NULL AND coalesce(selected_by, 'literal') <> 'literal'
              AND scope_seq IS NOT NULL AS appeared
    FROM ordered
) AS o
LEFT JOIN runs AS p ON p.seq = o.scope_seq AND o.appeared;
