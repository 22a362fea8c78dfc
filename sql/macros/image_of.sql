-- What counts as one image for unique sizes: its digest; a tag with no digest is an image of its own (nothing says it shares its bytes).
CREATE OR REPLACE MACRO image_of(digest, tag) AS coalesce(digest, 'tag:' || tag);
