-- How a tag changed between two versions (NULL old = added, NULL new = removed): one rule for
-- tag_changes and tag_diff.
CREATE OR REPLACE MACRO change_kind(old_tag, new_tag, old_digest, new_digest, old_updated,
                                   new_updated) AS CASE
    WHEN old_tag IS NULL THEN 'added'
    WHEN new_tag IS NULL THEN 'removed'
    WHEN old_digest IS DISTINCT FROM new_digest THEN 'retagged'
    WHEN new_updated > old_updated THEN 'repushed'
    ELSE 'modified'
END;
