-- Per repository, how many tags were added, removed, retagged, repushed, modified or untracked between two runs.
CREATE OR REPLACE MACRO diff_summary(from_seq, to_seq) AS TABLE
SELECT
    endpoint, namespace, repository,
    count(*) FILTER (WHERE change = 'added') AS added,
    count(*) FILTER (WHERE change = 'removed') AS removed,
    count(*) FILTER (WHERE change = 'retagged') AS retagged,
    count(*) FILTER (WHERE change = 'repushed') AS repushed,
    count(*) FILTER (WHERE change = 'modified') AS modified,
    count(*) FILTER (WHERE change = 'untracked') AS untracked
FROM tag_diff(from_seq, to_seq)
GROUP BY ALL
ORDER BY endpoint, namespace, repository;
