-- Every namespace (`scope_level` 'namespace', from namespace_summary) or repository ('repository', from repo_summary) ranked by unique bytes, then by name: its label (target_label), repositories, tags, total and unique bytes and last push. The one ranking of "the biggest" that the report's top N and top_storage share.
CREATE OR REPLACE MACRO storage_ranking(scope_level) AS TABLE
WITH scopes AS (
    SELECT endpoint, namespace, NULL::VARCHAR AS repository,
           target_label(endpoint, namespace) AS name, repositories, tags, total_size,
           unique_size, last_push
    FROM namespace_summary
    WHERE scope_level = 'namespace' AND level = 'namespace'
    UNION ALL
    SELECT endpoint, namespace, repository, target_label(endpoint, namespace, repository),
           1, tags, total_size, unique_size, last_push
    FROM repo_summary
    WHERE scope_level = 'repository'
)
SELECT *,
       row_number() OVER (ORDER BY unique_size DESC, endpoint, namespace, repository) AS rank
FROM scopes;
