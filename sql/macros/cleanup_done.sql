-- Whether a cleanup delete counts as done: `deleted`, or `gone` (the tag was not there any more: deleted with another tag of its image, or by someone else). `changed` (skipped: it moved since the plan) and `failed` did not delete it.
CREATE OR REPLACE MACRO cleanup_done(result) AS result IN ('deleted', 'gone');
