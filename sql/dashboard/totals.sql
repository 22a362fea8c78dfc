-- The dashboard's headline: repositories, tags, total and unique bytes now, and as of when.
SELECT repositories, tags, total_size, unique_size,
       (SELECT max(as_of) FROM tags_current) AS as_of
FROM warehouse_totals;
