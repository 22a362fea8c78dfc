-- The five slowest targets of run $run_id, labelled, with their tags, requests and retries; the end-of-run summary's "slowest".
SELECT target_label(endpoint, namespace, repository) AS target, duration_s, tags, requests,
       retries
FROM target_runs
WHERE run_id = $run_id
ORDER BY duration_s DESC, target
LIMIT 5;
