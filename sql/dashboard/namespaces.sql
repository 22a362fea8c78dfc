-- The dashboard's storage by organization: total and unique bytes (the gap is sharing).
SELECT endpoint || ':' || namespace AS organization, repositories, tags, total_size, unique_size
FROM namespace_summary
WHERE level = 'namespace'
ORDER BY unique_size DESC, organization
LIMIT 15;
