"""Turning the API and the agents into one farm: applying what agents report, assigning
queued jobs, delivering commands, deducting material (docs/orchestration.md)."""
