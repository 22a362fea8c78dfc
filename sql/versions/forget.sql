-- Drops what a comparison (listing_changes) defined on a connection: its views, its scope, the current versions a load held apart and the versions it ended.
DROP VIEW IF EXISTS version_closes;
DROP VIEW IF EXISTS version_opens;
DROP VIEW IF EXISTS version_listed;
DROP VIEW IF EXISTS version_current;
DROP TABLE IF EXISTS version_scope;
DROP TABLE IF EXISTS load_current;
DROP TABLE IF EXISTS version_ending;
