"""Fleet, printer, job and material analytics, aggregated in SQL (docs/analytics.md)."""
