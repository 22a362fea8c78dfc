-- The tables and views the database holds (neither temporary nor DuckDB's own): none is a new database, `runs` and `tag_history` among them one of swr-etl's.
SELECT table_name AS name FROM duckdb_tables() WHERE NOT temporary
UNION ALL
SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal;
