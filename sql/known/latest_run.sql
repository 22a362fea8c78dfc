-- The latest run the warehouse holds (none before the first): when it started, its id, and the writer that ran it (its name and identity).
SELECT started_at, run_id, writer, writer_id FROM runs ORDER BY started_at DESC, seq DESC LIMIT 1;
