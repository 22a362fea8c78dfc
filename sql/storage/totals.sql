-- How much the warehouse holds now (warehouse_totals): runs, repositories, tags, total and unique bytes; the report's totals.
SELECT * FROM warehouse_totals;
