-- What a load gathers before it records the run's targets: each synced target's sizes.
CREATE OR REPLACE TEMP TABLE staged_sizes (
    endpoint VARCHAR, namespace VARCHAR, repository VARCHAR,
    total_size HUGEINT, unique_size HUGEINT
);
