-- What changed from after run `from_seq` to after run `to_seq`, one row per changed tag: the tag_changes of the runs in between, netted per tag (its state before its first change against its state after its last; a tag that ends as it began is no change; one whose last change is `untracked` is untracked). For consecutive runs it is exactly their tag_changes.
CREATE OR REPLACE MACRO tag_diff(from_seq, to_seq) AS TABLE
WITH netted AS (
    SELECT endpoint, namespace, repository, tag,
           first(old_payload ORDER BY to_seq) AS old, last(new_payload ORDER BY to_seq) AS new,
           last(change ORDER BY to_seq) AS last_change
    FROM run_changes(from_seq + 1, to_seq)
    GROUP BY ALL
)
SELECT endpoint, namespace, repository, tag,
       CASE
           WHEN last_change = 'untracked' THEN 'untracked'
           ELSE change_kind(CASE WHEN old IS NOT NULL THEN tag END,
                            CASE WHEN new IS NOT NULL THEN tag END,
                            old.digest, new.digest, old.updated, new.updated)
       END AS change,
       old.digest AS old_digest, new.digest AS new_digest, old.size AS old_size,
       new.size AS new_size, old.updated AS old_updated, new.updated AS new_updated
FROM netted
WHERE old IS DISTINCT FROM new;
