-- Counts one more failed load of run $run_id with its reason; returns how many times it has failed.
INSERT INTO load_failures VALUES ($run_id, 1, $reason, now())
ON CONFLICT (run_id) DO UPDATE
    SET failures = failures + 1, reason = excluded.reason, last_failed_at = excluded.last_failed_at
RETURNING failures;
