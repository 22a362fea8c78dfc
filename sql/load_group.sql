-- The staged tags of a group of completed targets (`staged_attempts`), while a run is loaded
-- as it is crawled: its pages wait in `run_pages`, tagged with their crawl attempt.
CREATE OR REPLACE TEMP VIEW staged_tags AS
SELECT * EXCLUDE (attempt) FROM run_pages
WHERE attempt IN (SELECT attempt FROM staged_attempts);
