"""Scripts run by the independent Bambu client libraries' own Python (not test modules)."""
