-- When the latest run of one writer started: by its identity $writer_id, or (runs written before writers had one) by its name $writer.
SELECT max(started_at) FROM runs
WHERE CASE WHEN $writer_id IS NOT NULL THEN writer_id = $writer_id ELSE writer = $writer END;
