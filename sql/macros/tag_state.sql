-- Every tag as known after run `at_seq`: each repository as its latest sync at or before that run saw it.
CREATE OR REPLACE MACRO tag_state(at_seq) AS TABLE
SELECT h.*
FROM tag_history AS h
WHERE valid_at(h.valid_from_seq, h.valid_to_seq, at_seq);
