"""The `apf` command line: one entry point, a subcommand per job."""
