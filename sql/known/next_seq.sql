-- The sequence number after the latest the warehouse holds (1 for the first run).
SELECT coalesce(max(seq), 0) + 1 FROM runs;
