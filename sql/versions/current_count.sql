-- How many versions `version_current` holds: what a comparison's hash joins hold, split in parts of known.VERSIONS_PER_PART.
SELECT count(*) FROM version_current;
