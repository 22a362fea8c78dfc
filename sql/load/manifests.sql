-- Keeps each manifest once per digest, the first run that brought it.
INSERT INTO manifests
SELECT digest, any_value(manifest), any_value(run_id)
FROM staged_manifests
WHERE digest NOT IN (SELECT digest FROM manifests)
GROUP BY digest;
