-- Tags changed per run and kind (changes_per_run: added, removed, retagged, repushed, modified, untracked) for the last 30 runs that changed anything, each run labelled; the dashboard's changes per run.
WITH counts AS (
    SELECT to_seq, change, tags FROM changes_per_run(0, latest_seq())
),
recent AS (
    SELECT DISTINCT to_seq FROM counts ORDER BY to_seq DESC LIMIT 30
)
SELECT c.to_seq AS seq, run_label(c.to_seq, r.started_at) AS run, c.change, c.tags
FROM counts AS c
SEMI JOIN recent USING (to_seq)
JOIN runs AS r ON r.seq = c.to_seq
ORDER BY seq, change;
