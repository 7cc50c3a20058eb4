"""Verify the webhooks AutoPrintFarm sends you (Standard Webhooks v1).

```python
from autoprintfarm import webhooks

event = webhooks.verify(request.body, request.headers, secret)  # raises if not authentic
if event.type == "job.completed": ...
```

Pass the body exactly as received (bytes, before any JSON parsing: the signature covers
those bytes) and the headers as a mapping (names are matched case-insensitively). The
signature scheme, the ``whsec_`` secret form and the 5-minute timestamp tolerance are those
of Standard Webhooks 1.0.0; the implementation is the one the cloud signs with
(`autoprintfarm.signature`). Deliveries are at least once: deduplicate on ``event.id``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec

from autoprintfarm import signature as webhook_signature
from autoprintfarm.errors import WebhookVerificationError
from autoprintfarm.models import WebhookEvent
from autoprintfarm.signature import DEFAULT_TOLERANCE_S

__all__ = ["DEFAULT_TOLERANCE_S", "WebhookVerificationError", "sign", "verify"]


class _Body(msgspec.Struct, kw_only=True):
    type: str = ""
    timestamp: Any = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now_s: float | None = None,
) -> WebhookEvent:
    """The delivered event if ``headers`` carry a valid signature of ``payload``.

    Raises `WebhookVerificationError` for a missing or wrong signature, a timestamp more
    than ``tolerance_s`` from now (a replay), or a body that is not a JSON object.
    """
    body = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    try:
        webhook_signature.verify(
            body,
            headers,
            secret,
            now_s=time.time() if now_s is None else now_s,
            tolerance_s=tolerance_s,
        )
    except webhook_signature.WebhookVerificationError as exc:
        raise WebhookVerificationError(str(exc)) from exc
    except ValueError as exc:  # a malformed whsec_ secret
        raise WebhookVerificationError(str(exc)) from exc
    msg_id = next(v for k, v in headers.items() if k.lower() == "webhook-id")
    try:
        raw = msgspec.json.decode(body, type=_Body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise WebhookVerificationError(f"signed body is not an event object: {exc}") from exc
    event: WebhookEvent = msgspec.convert(
        {"id": msg_id, "type": raw.type, "timestamp": raw.timestamp, "data": raw.data},
        WebhookEvent,
        strict=False,
    )
    return event


def sign(secret: str | bytes, msg_id: str, timestamp_s: int, payload: bytes) -> str:
    """The ``webhook-signature`` value for a body: for testing your receiver."""
    return webhook_signature.sign(secret, msg_id, timestamp_s, payload)
