-- The repositories added, removed or untracked between runs $f and $t (repository_changes); the diff's repositories.
SELECT * FROM repository_changes($f, $t);
