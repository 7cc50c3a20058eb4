"""Webhooks: endpoints, durable signed deliveries with retries, and the delivery worker.

- `events`: subscribable names and wildcard matching.
- `tables`: endpoints, deliveries, attempts, fan-out cursor (migration 0004_webhooks).
- `fanout`: the event log becomes delivery rows; `store`: claims and results.
- `sender`: one signed, SSRF-guarded POST (through `http`, an h11 keep-alive client);
  `schedule`: backoff with jitter.
- `worker`: `WebhookWorker`, run in the app's lifespan; `service`: the API's rules.
See docs/webhooks.md.
"""
