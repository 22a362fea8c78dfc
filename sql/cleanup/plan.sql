-- The tags a cleanup plan deletes on the config's endpoints ($endpoints), under its rule (not pushed for $days days, the newest $keep_last of each repository kept, tags matching a $protect glob kept), each with what deleting it frees.
SELECT endpoint, namespace, repository, tag, digest, updated, size, freed_size
FROM cleanup_plan($days, $keep_last, $protect)
WHERE list_contains($endpoints, endpoint)
ORDER BY endpoint, namespace, repository, tag;
