-- Every tag as known after run `at_seq`: each target's latest successful snapshot at or before it.
CREATE OR REPLACE MACRO tag_state(at_seq) AS TABLE
WITH latest AS (
    SELECT endpoint, namespace, repository, max(seq) AS seq
    FROM target_runs
    WHERE status IN ('ok', 'not_found') AND seq <= at_seq
    GROUP BY ALL
)
SELECT h.*
FROM tag_history AS h
JOIN latest AS l USING (endpoint, namespace, repository)
WHERE h.valid_from_seq <= l.seq AND (h.valid_to_seq IS NULL OR h.valid_to_seq > l.seq);
