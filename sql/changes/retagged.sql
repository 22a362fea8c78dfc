-- The latest retagged tags (moved to another digest, the surprise people look for; tag_changes), labelled: the 10 latest, and how many there are in all; the dashboard's retagged table.
SELECT run_label(to_seq, to_at) AS run,
       target_label(endpoint, namespace, repository, tag) AS tag,
       left(old_digest, 19) AS old_digest, left(new_digest, 19) AS new_digest,
       count(*) OVER () AS retagged_in_all
FROM tag_changes
WHERE change = 'retagged'
ORDER BY to_seq DESC, tag
LIMIT 10;
