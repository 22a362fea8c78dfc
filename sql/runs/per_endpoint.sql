-- Run $run_id per endpoint: its targets by status, tags, requests, retries and warnings; the end-of-run summary's endpoint lines and the metrics' targets.
SELECT endpoint,
       count(*) FILTER (WHERE status = 'ok') AS ok,
       count(*) FILTER (WHERE status = 'not_found') AS not_found,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       coalesce(sum(tags), 0) AS tags, coalesce(sum(requests), 0) AS requests,
       coalesce(sum(retries), 0) AS retries, coalesce(sum(warnings), 0) AS warnings
FROM target_runs
WHERE run_id = $run_id
GROUP BY endpoint
ORDER BY endpoint;
