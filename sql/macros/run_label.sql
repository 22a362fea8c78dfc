-- How a chart or a table names a run: its UTC start to the second and its seq (`2026-11-29 16:08:30 · #12`), so two runs a minute (or a second) apart never read the same.
CREATE OR REPLACE MACRO run_label(seq, started_at) AS
    strftime(timezone('UTC', started_at), '%Y-%m-%d %H:%M:%S') || ' · #' || seq;
