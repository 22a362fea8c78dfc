-- What each repository holds now: its current tags, the tag filter of its latest sync (a run under another filter starts a new scope, not removals), when the lake last stored its tags whole (when the run of its latest whole listing, or of a sync that left it none: not found, untracked, finished by the clock of its writer), which writer made its latest sync, and how many of its current tags a cleanup apply has deleted since its latest sync (removals the next sync expects; a tag a later sync still saw is no longer expected gone).
WITH cleaned AS (
    SELECT h.endpoint, h.namespace, h.repository, count(DISTINCT h.tag) AS tags
    FROM cleanup_deletions AS d
    JOIN tag_history AS h
      ON h.valid_to_seq IS NULL AND h.endpoint = d.endpoint AND h.namespace = d.namespace
     AND h.repository = d.repository AND h.tag = d.tag AND h.digest = d.digest
     AND h.updated = d.updated
    JOIN target_syncs AS s
      ON s.latest AND s.endpoint = d.endpoint AND s.namespace = d.namespace
     AND s.repository = d.repository
    WHERE cleanup_done(d.result) AND d.attempted_at > s.snapshot_at
    GROUP BY ALL
),
listed AS (
    SELECT t.endpoint, t.namespace, t.repository,
           arg_max(coalesce(r.finished_at, t.snapshot_at), t.seq) AS listed_at
    FROM target_runs AS t
    JOIN runs AS r ON r.run_id = t.run_id
    WHERE synced(t.status) AND t.listing IS DISTINCT FROM 'delta'
    GROUP BY ALL
)
SELECT s.endpoint, s.namespace, s.repository, count(h.tag) AS tags, s.tag_filter,
       any_value(l.listed_at) AS listed_at, any_value(r.writer_id) AS written_by,
       coalesce(any_value(c.tags), 0) AS cleaned
FROM target_syncs AS s
JOIN runs AS r ON r.run_id = s.run_id
LEFT JOIN tag_history AS h
  ON h.valid_to_seq IS NULL AND h.endpoint = s.endpoint AND h.namespace = s.namespace
 AND h.repository = s.repository
LEFT JOIN listed AS l
  ON l.endpoint = s.endpoint AND l.namespace = s.namespace AND l.repository = s.repository
LEFT JOIN cleaned AS c
  ON c.endpoint = s.endpoint AND c.namespace = s.namespace AND c.repository = s.repository
WHERE s.latest
GROUP BY s.endpoint, s.namespace, s.repository, s.tag_filter;
