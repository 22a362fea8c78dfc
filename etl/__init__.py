"""swr-tag-etl: sync Huawei Cloud SWR image tags into Parquet and DuckDB."""

__version__ = "0.1.0"
