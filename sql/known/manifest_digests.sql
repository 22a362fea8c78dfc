-- The digests whose manifest the warehouse already stores.
SELECT digest FROM manifests;
