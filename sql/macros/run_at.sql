-- The seq of the run named by `ref`: a run id; a date (YYYY-MM-DD: the last run started on or before that UTC day); or an instant (the last run started at or before it; without a zone it is UTC). NULL when nothing matches. The answer never depends on the session's TimeZone.
CREATE OR REPLACE MACRO run_at(ref) AS (
    SELECT max(seq) FROM runs
    WHERE run_id = ref
       OR epoch_us(started_at) <= CASE
              WHEN regexp_full_match(ref, '\d{4}-\d{2}-\d{2}')
                  THEN epoch_us(try_cast(ref AS DATE)::TIMESTAMP + INTERVAL 1 DAY) - 1
              WHEN regexp_matches(ref, '(Z|[+-]\d\d(:?\d\d)?)$')
                  THEN epoch_us(try_cast(ref AS TIMESTAMPTZ))
              ELSE epoch_us(try_cast(ref AS TIMESTAMP))
          END
);
