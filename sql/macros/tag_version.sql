-- A tag version's fingerprint: two 64-bit hashes of its payload (tag_payload), 128 bits in all — what listing_changes compares, so that the versions it holds are keys and a fingerprint, not whole rows, and a comparison fits the sync's memory whatever the registry's size. Two payloads that differ share a fingerprint once in about 2^128 comparisons.
CREATE OR REPLACE MACRO tag_version(t) AS {
    'a': hash(tag_payload(t)), 'b': hash(tag_payload(t), 'tag_version')
};
