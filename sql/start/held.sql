-- What each repository holds now: its current tags, and the tag filter of its latest sync (a run under another filter starts a new scope, not removals).
SELECT s.endpoint, s.namespace, s.repository, count(h.tag) AS tags, s.tag_filter
FROM target_syncs AS s
LEFT JOIN tag_history AS h
  ON h.valid_to_seq IS NULL AND h.endpoint = s.endpoint AND h.namespace = s.namespace
 AND h.repository = s.repository
WHERE s.latest
GROUP BY ALL;
