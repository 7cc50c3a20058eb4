"""Prometheus metrics of the cloud service, served at `/metrics` (docs/monitoring.md).

- `series`: the contract, every series the cloud exports (names, labels, buckets), and the
  one-line calls the rest of the code instruments itself with;
- `http`: request counts and durations, by route template;
- `domain`: the farm's gauges, read from the database at scrape time;
- `pool`: the request engine's connection pool, sampled in every worker process;
- `multiproc`: several worker processes, one set of totals (prometheus-client's
  multiprocess mode);
- `endpoint`: the token-guarded `GET /metrics` handler.
"""
