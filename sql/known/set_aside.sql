-- The runs set aside for this database (they failed to load $loads times), with the last reason.
SELECT run_id, reason FROM load_failures WHERE failures >= $loads ORDER BY run_id;
