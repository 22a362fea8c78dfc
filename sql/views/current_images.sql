-- Each image (image_of: its digest, or a tag with no digest) once per repository, with its size: what every unique size adds up, over whichever group a row stands for.
CREATE OR REPLACE VIEW current_images AS
SELECT endpoint, namespace, repository, image_of(digest, tag) AS image, max(size)::HUGEINT AS size
FROM tags_current
GROUP BY ALL;
