"""`autoprintfarm.webhooks.verify` against signatures made by the cloud's signer."""

from __future__ import annotations

import json
import time

import pytest

from autoprintfarm import AutoPrintFarmError, WebhookVerificationError, webhooks
from autoprintfarm import signature as webhook_signature

BODY = json.dumps(
    {
        "type": "job.completed",
        "timestamp": "2025-10-06T14:25:00Z",
        "data": {"id": "job_xyz789", "status": "completed"},
    }
).encode()


def _headers(secret: str, body: bytes = BODY, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {
        "Webhook-Id": "msg_01J9ZQ",
        "Webhook-Timestamp": str(ts),
        "Webhook-Signature": webhook_signature.sign(secret, "msg_01J9ZQ", ts, body),
    }


@pytest.mark.parametrize("secret", ["webhook_secret_key", webhook_signature.generate_secret()])
def test_a_genuine_delivery_verifies_and_decodes(secret: str) -> None:
    event = webhooks.verify(BODY, _headers(secret), secret)
    assert (event.id, event.type) == ("msg_01J9ZQ", "job.completed")
    assert event.data == {"id": "job_xyz789", "status": "completed"}
    assert event.timestamp is not None and event.timestamp.year == 2025
    # A str body and lower-case header names work the same.
    lower = {k.lower(): v for k, v in _headers(secret).items()}
    assert webhooks.verify(BODY.decode(), lower, secret).type == "job.completed"


def test_rotation_accepts_any_listed_signature() -> None:
    headers = _headers("new-secret")
    ts = int(headers["Webhook-Timestamp"])
    old = webhook_signature.sign("old-secret", "msg_01J9ZQ", ts, BODY)
    headers["Webhook-Signature"] = f"{old} {headers['Webhook-Signature']}"
    assert webhooks.verify(BODY, headers, "new-secret").id == "msg_01J9ZQ"
    assert webhooks.verify(BODY, headers, "old-secret").id == "msg_01J9ZQ"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"completed", b"failed")),
        lambda h, b: ({**h, "Webhook-Id": "msg_other"}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "Webhook-Signature"}, b),
        lambda h, b: ({**h, "Webhook-Timestamp": str(int(time.time()) - 301)}, b),
        lambda h, b: ({**h, "Webhook-Timestamp": "yesterday"}, b),
    ],
    ids=["body", "id", "no-signature", "stale", "bad-timestamp"],
)
def test_anything_altered_is_refused(tamper: object) -> None:
    headers, body = tamper(_headers("s3cret"), BODY)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body, headers, "s3cret")


def test_wrong_secret_stale_time_and_non_json_are_refused() -> None:
    with pytest.raises(WebhookVerificationError) as info:
        webhooks.verify(BODY, _headers("right"), "wrong")
    assert isinstance(info.value, AutoPrintFarmError)
    old = int(time.time()) - 3600
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        webhooks.verify(BODY, _headers("s", ts=old), "s")
    assert webhooks.verify(BODY, _headers("s", ts=old), "s", tolerance_s=7200).type
    with pytest.raises(WebhookVerificationError, match="event object"):
        webhooks.verify(b"[1, 2]", _headers("s", body=b"[1, 2]"), "s")
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, _headers("s"), "whsec_not base64!")


def test_sign_matches_the_cloud_signer() -> None:
    assert webhooks.sign("k", "msg_1", 1700000000, b"{}") == webhook_signature.sign(
        "k", "msg_1", 1700000000, b"{}"
    )
