"""Hardware and workload catalogs."""
