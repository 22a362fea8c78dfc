-- How many versions were current before run $seq (NULL: now), not counting those it started: what a run's comparison holds, split in parts of warehouse.VERSIONS_PER_PART.
SELECT count(*) FROM tag_history
WHERE valid_to_seq IS NULL AND ($seq IS NULL OR valid_from_seq < $seq);
