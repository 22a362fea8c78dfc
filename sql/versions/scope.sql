-- The repositories of one part ($part of $parts) of those in `version_targets` (endpoint, namespace, repository), each listed whole: what the lake's changes, `thin` and the load beside a crawl compare (listing_changes).
CREATE OR REPLACE TEMP TABLE version_scope AS
SELECT endpoint, namespace, repository, true AS whole
FROM version_targets
WHERE hash(endpoint, namespace, repository) % $parts = $part;
