-- The tables the database holds: a reader of a database an older version wrote makes the ones this version adds as empty temporary tables.
SELECT table_name FROM duckdb_tables() WHERE NOT temporary;
