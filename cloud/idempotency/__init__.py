"""`Idempotency-Key` for POST requests (draft-ietf-httpapi-idempotency-key-header).

The first request with a key claims it (a row under a unique key, so two replicas cannot both
run it), and its response is stored; a retry with the same key and the same request gets that
response again. `keys` parses the header and fingerprints requests, `tables` holds the table,
`store` claims, completes, releases and sweeps rows. The ASGI layer is `cloud.api.idempotency`.
"""

from __future__ import annotations
