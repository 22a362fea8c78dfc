-- How many bytes DuckDB holds in memory now, every connection of this process to the database together: what a connection's work is given its own limit on top of (warehouse.own_memory).
SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory();
