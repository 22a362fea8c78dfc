-- The runs loaded that started at or after $started, with the sequence number each was loaded with: the ones a late run of the lake may sort before.
SELECT run_id, seq FROM runs WHERE started_at >= $started ORDER BY seq;
