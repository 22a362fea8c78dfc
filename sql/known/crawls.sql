-- Each repository's last crawl — a sync that read its whole tag list (ok, not carried) — when that run finished (its own clock), what its organization's repository list said of it then (updated_at, num_images, size), and whether its latest sync was ok (not failed, not found, untracked since): what `crawl.skip_unchanged` compares a run's list entry with.
WITH crawled AS (
    SELECT endpoint, namespace, repository, max(seq) AS seq
    FROM target_runs
    WHERE status = 'ok' AND NOT coalesce(carried, false)
    GROUP BY ALL
),
latest AS (
    SELECT endpoint, namespace, repository, arg_max(status, seq) AS status
    FROM target_runs
    GROUP BY ALL
)
SELECT c.endpoint, c.namespace, c.repository, r.finished_at AS crawled_at, h.updated_at,
       h.num_images, h.size, l.status = 'ok' AS latest_ok
FROM crawled AS c
JOIN runs AS r ON r.seq = c.seq
JOIN latest AS l USING (endpoint, namespace, repository)
LEFT JOIN repository_history AS h
  ON h.endpoint = c.endpoint AND h.namespace = c.namespace AND h.repository = c.repository
 AND valid_at(h.valid_from_seq, h.valid_to_seq, c.seq);
