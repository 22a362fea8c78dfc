-- The repositories of one part ($part of $parts) of run $seq that its load versions (see `synced`: a not found or untracked one closes all it holds), each listed whole or as changes (`listing = 'delta'`); not the targets versioned while the run crawled (staged_early).
CREATE OR REPLACE TEMP TABLE version_scope AS
SELECT t.endpoint, t.namespace, t.repository, t.listing IS DISTINCT FROM 'delta' AS whole
FROM target_runs AS t
ANTI JOIN staged_early AS e USING (endpoint, namespace, repository)
WHERE t.seq = $seq AND synced(t.status)
  AND hash(t.endpoint, t.namespace, t.repository) % $parts = $part;
