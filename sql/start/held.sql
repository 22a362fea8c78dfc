-- What each repository holds now: its current tags, the tag filter of its latest sync (a run under another filter starts a new scope, not removals), when the lake last stored its tags whole (a whole listing, or a sync that left it none: not found, untracked), and which writer made its latest sync.
WITH listed AS (
    SELECT endpoint, namespace, repository, max(snapshot_at) AS listed_at
    FROM target_runs
    WHERE synced(status) AND listing IS DISTINCT FROM 'delta'
    GROUP BY ALL
)
SELECT s.endpoint, s.namespace, s.repository, count(h.tag) AS tags, s.tag_filter,
       any_value(l.listed_at) AS listed_at, any_value(r.writer_id) AS written_by
FROM target_syncs AS s
JOIN runs AS r ON r.run_id = s.run_id
LEFT JOIN tag_history AS h
  ON h.valid_to_seq IS NULL AND h.endpoint = s.endpoint AND h.namespace = s.namespace
 AND h.repository = s.repository
LEFT JOIN listed AS l
  ON l.endpoint = s.endpoint AND l.namespace = s.namespace AND l.repository = s.repository
WHERE s.latest
GROUP BY s.endpoint, s.namespace, s.repository, s.tag_filter;
