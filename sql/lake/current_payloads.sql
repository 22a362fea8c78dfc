-- What listings are compared with (deltas.sql): the tags known before them (`delta_known`: the warehouse's current versions for a sync, the lake's state before the run for `thin`) of the repositories compared (`delta_targets`), as keys and a 64-bit hash of the payload, not whole rows, so that the comparison's table stays small (a change that keeps the hash, one in 2^64, waits for the next whole listing).
CREATE OR REPLACE TEMP VIEW delta_current AS
SELECT k.endpoint, k.namespace, k.repository, k.tag, hash(tag_payload(k)) AS payload
FROM delta_known AS k
SEMI JOIN delta_targets AS t USING (endpoint, namespace, repository);
