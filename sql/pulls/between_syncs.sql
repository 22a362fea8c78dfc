-- The $top largest pull counts between two consecutive syncs that saw a repository (repo_pulls): namespace, repository and pulls; the demo's "Most pulled between the two syncs".
SELECT namespace, repository, pulls FROM repo_pulls ORDER BY pulls DESC LIMIT $top;
