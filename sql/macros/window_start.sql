-- The seq of the run a window of `days` days starts at, counted back from the last run: the last run at or before that moment, or the first run when the warehouse is younger than the window.
CREATE OR REPLACE MACRO window_start(days) AS coalesce(
    (SELECT max(seq) FROM runs
     WHERE started_at <= (SELECT max(started_at) FROM runs) - to_days(days)),
    (SELECT min(seq) FROM runs)
);
