-- The run's tags but for the targets versioned while it crawled (staged_early: etl.store.early), which the load leaves out.
CREATE OR REPLACE TEMP VIEW staged_tags AS
SELECT * FROM staged_listed ANTI JOIN staged_early USING (endpoint, namespace, repository);
