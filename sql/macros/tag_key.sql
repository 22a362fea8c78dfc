-- A tag's key (endpoint, namespace, repository, tag) as one 128-bit fingerprint (two 64-bit hashes): what listing_changes joins on, so that a comparison's hash tables hold 16 bytes per tag instead of four names and fit the sync's memory in larger parts. Two different keys share one once in about 2^128 comparisons, as tag_version's payloads do.
CREATE OR REPLACE MACRO tag_key(t) AS
    (hash(t.endpoint, t.namespace, t.repository, t.tag)::UHUGEINT << 64)
    + hash(t.endpoint, t.namespace, t.repository, t.tag, 'tag_key');
