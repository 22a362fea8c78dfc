-- The warehouse's latest run, which a cleanup plan is computed from: its id, seq and start (no row before the first run).
SELECT run_id, seq, started_at FROM runs WHERE seq = latest_seq();
