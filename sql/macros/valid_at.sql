-- Whether a version that opened at run `from_seq` and closed at `to_seq` (NULL: still current) is valid after run `at_seq`.
CREATE OR REPLACE MACRO valid_at(from_seq, to_seq, at_seq) AS
    from_seq <= at_seq AND (to_seq IS NULL OR to_seq > at_seq);
