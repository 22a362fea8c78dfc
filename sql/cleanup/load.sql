-- Records one apply's attempted deletions (`staged_cleanup`, read from its lake file) in cleanup_deletions.
INSERT INTO cleanup_deletions BY NAME SELECT * FROM staged_cleanup;
