-- The dashboard's changes per run (the last 30 runs that changed anything), by kind: added, removed, retagged, repushed, modified, untracked.
WITH recent AS (
    SELECT DISTINCT to_seq FROM tag_changes ORDER BY to_seq DESC LIMIT 30
)
SELECT c.to_seq AS seq, run_label(c.to_seq, r.started_at) AS run, c.change, count(*) AS tags
FROM tag_changes AS c
SEMI JOIN recent USING (to_seq)
JOIN runs AS r ON r.seq = c.to_seq
GROUP BY ALL
ORDER BY seq, change;
