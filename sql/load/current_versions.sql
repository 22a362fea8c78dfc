-- The current versions of one part of the repositories this run synced (see `synced`: an untracked one closes all), before the run changes them: all of a repository the run lists whole, only the tags it names of one it stores as changes (`listing = 'delta'`); none of a target versioned while the run crawled (staged_early).
CREATE OR REPLACE TEMP TABLE staged_current AS
SELECT h.rowid AS history_row,
       h.* EXCLUDE (valid_from_seq, valid_from_run, valid_from, valid_to_seq, valid_to_run,
                    valid_to)
FROM tag_history AS h
JOIN target_runs AS t
  ON t.endpoint = h.endpoint AND t.namespace = h.namespace AND t.repository = h.repository
 AND t.seq = $seq AND synced(t.status)
ANTI JOIN staged_early AS e
  ON e.endpoint = t.endpoint AND e.namespace = t.namespace AND e.repository = t.repository
LEFT JOIN (SELECT endpoint, namespace, repository, tag FROM staged_tags WHERE op IS NOT NULL) AS d
  ON d.endpoint = h.endpoint AND d.namespace = h.namespace AND d.repository = h.repository
 AND d.tag = h.tag
WHERE h.valid_to_seq IS NULL AND h.valid_from_seq < $seq
  AND hash(h.endpoint, h.namespace, h.repository) % $parts = $part
  AND (t.listing IS DISTINCT FROM 'delta' OR d.tag IS NOT NULL);
