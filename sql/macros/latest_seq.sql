-- The seq of the latest run the warehouse holds (NULL before the first): the one definition of "the latest run" that every "last run" of the report, the dashboard, the metrics and a cleanup plan reads.
CREATE OR REPLACE MACRO latest_seq() AS (SELECT max(seq) FROM runs);
