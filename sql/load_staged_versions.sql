-- The run's staged tags, read once from its Parquet files into a temporary table.
CREATE OR REPLACE TEMP TABLE staged_versions AS
SELECT * FROM staged_tags;
