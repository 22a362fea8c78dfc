-- The seq of a run named by its id, or of the last run started on or before a date (UTC).
CREATE OR REPLACE MACRO run_at(ref) AS (
    SELECT max(seq) FROM runs
    WHERE run_id = ref
       OR (try_cast(ref AS DATE) IS NOT NULL
           AND started_at < try_cast(ref AS DATE)::TIMESTAMPTZ + INTERVAL 1 DAY)
);
