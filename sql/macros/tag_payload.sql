-- A tag version's fields as one value: two versions are the same tag state when their payloads are IS NOT DISTINCT FROM each other (NULLs equal). The one list of the fields a change is judged on.
CREATE OR REPLACE MACRO tag_payload(t) AS {
    'id': t.id, 'repo_id': t.repo_id, 'image_id': t.image_id, 'digest': t.digest,
    'schema': t.schema, 'path': t.path, 'internal_path': t.internal_path, 'size': t.size,
    'is_trusted': t.is_trusted, 'created': t.created, 'updated': t.updated,
    'domain_id': t.domain_id, 'tag_type': t.tag_type
};
