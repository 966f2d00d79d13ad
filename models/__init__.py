"""Package data: the hardware and workload catalogs (YAML)."""
