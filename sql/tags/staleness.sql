-- Current tags and their bytes by time since the last push (staleness_buckets); the report's staleness.
SELECT bucket, tags, total_size FROM staleness_buckets;
