"""Our Standard Webhooks signatures, checked by the reference `standardwebhooks` library."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as RefError

from autoprintfarm.signature import (
    WebhookVerificationError,
    generate_secret,
    secret_key,
    sign,
    verify,
)

BODY = b'{"id":"evt_1","type":"job.completed","data":{"id":"job_1"}}'


def headers(secret: str | bytes, msg_id: str = "msg_1", ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, BODY),
    }


def test_generated_secret_verifies_with_the_reference_library() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    Webhook(secret).verify(BODY, headers(secret))


def test_user_chosen_plain_secret_is_raw_key_bytes() -> None:
    secret = "webhook_secret_key"  # the API spec's example
    assert secret_key(secret) == b"webhook_secret_key"
    Webhook(secret.encode()).verify(BODY, headers(secret))


def test_our_verify_accepts_a_reference_signature_and_rejects_tampering() -> None:
    secret = generate_secret()
    ts = int(time.time())
    ref_sig = Webhook(secret).sign("msg_9", _dt(ts), BODY.decode())
    hdrs = {"Webhook-Id": "msg_9", "Webhook-Timestamp": str(ts), "Webhook-Signature": ref_sig}
    verify(BODY, hdrs, secret, now_s=ts)
    with pytest.raises(WebhookVerificationError):
        verify(BODY + b" ", hdrs, secret, now_s=ts)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, hdrs, generate_secret(), now_s=ts)


def test_rotation_list_any_matching_signature_passes() -> None:
    old, new = generate_secret(), generate_secret()
    h = headers(old)
    h["webhook-signature"] = (
        f"{sign(new, 'msg_1', int(h['webhook-timestamp']), BODY)} {h['webhook-signature']}"
    )
    verify(BODY, h, old, now_s=time.time())
    verify(BODY, h, new, now_s=time.time())


@pytest.mark.parametrize("skew_s", [-301, 301])
def test_stale_or_future_timestamps_are_refused_like_the_reference(skew_s: int) -> None:
    secret = generate_secret()
    now = int(time.time())
    h = headers(secret, ts=now + skew_s)
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify(BODY, h, secret, now_s=now)
    with pytest.raises(RefError):
        Webhook(secret).verify(BODY, h)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h.pop("webhook-id"),
        lambda h: h.update({"webhook-timestamp": "soon"}),
        lambda h: h.update({"webhook-signature": "v1,AAAA"}),
        lambda h: h.update({"webhook-signature": "v2," + h["webhook-signature"][3:]}),
        lambda h: h.update({"webhook-signature": "v1,ünïcode"}),
    ],
)
def test_malformed_headers_fail_verification_not_crash(mutate: object) -> None:
    secret = generate_secret()
    h = headers(secret)
    mutate(h)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify(BODY, h, secret, now_s=time.time())


def test_ids_with_dots_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        sign("k", "a.b", 1, BODY)


def _dt(ts: int):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC)
