"""Where runs are kept: the Parquet lake (written, and its committed runs read back) and DuckDB."""
