"""Package data: shipped scenarios (YAML) and their load curves."""
