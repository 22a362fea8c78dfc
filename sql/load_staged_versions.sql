-- The run's staged tags with the fingerprint that tells one version of a tag from another.
CREATE OR REPLACE TEMP VIEW staged_versions AS
SELECT *, tag_version_hash(id, repo_id, image_id, digest, schema, path, internal_path, size,
                           is_trusted, created, updated, domain_id, tag_type) AS version_hash
FROM staged_tags;
