"""The `Idempotency-Key` layer: authenticated POSTs that carry the header run at most once.

It sits inside `ApiMiddleware` (it needs the caller's organization). For a POST with a key:

- the first request claims the key, runs, and its response is stored when it is a success
  (2xx) or a refusal of the request itself (400, 422); any other answer (404, 409, a
  quota, 413, 5xx) releases the key, so a retry runs the request again once things changed
  (a 413 is not kept: keeping it would mean reading the whole oversized body to hash it);
- a retry with the same method, path and body gets the stored response again, marked
  `Idempotent-Replayed: true`;
- the same key for another request is 422 `invalid_request` (param `Idempotency-Key`); the
  same key while its first request still runs is 409 `invalid_request` with `Retry-After`.

The stored response is buffered and saved before it is sent, so a client that has its
answer finds the record there when it retries.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from cloud.api.state import AppContext
from cloud.auth.keys import Principal
from cloud.errors import ApiError
from cloud.idempotency.keys import (
    HEADER,
    InvalidKeyError,
    RequestFingerprint,
    lookup_hash,
    parse_key,
    seal,
    unseal,
)
from cloud.idempotency.store import IdempotencyStore, KeyBusyError, StoredRequest
from shared.enums import ErrorCode

logger = logging.getLogger(__name__)

_STORED_REFUSALS: Final = frozenset({400, 422})
# Responses of creates and actions are small; a larger one is sent but not kept.
_MAX_STORED_BODY: Final = 1024 * 1024
_SWEEP_EVERY_S: Final = 600.0
_BODY_OVERHEAD: Final = 1024 * 1024


def _stored_status(status: int) -> bool:
    return 200 <= status < 300 or status in _STORED_REFUSALS


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]


def _conflict(message: str, status: int, **headers: str) -> ApiError:
    return ApiError(
        ErrorCode.INVALID_REQUEST, message, param=HEADER, status_code=status, headers=headers
    )


@dataclass(slots=True)
class _Body:
    """The request body as the handler (or a drain) read it."""

    fingerprint: RequestFingerprint
    limit: int
    complete: bool = False
    disconnected: bool = False

    def record(self, message: ReceiveMessage) -> None:
        if message["type"] == "http.request":
            self.fingerprint.update(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
        elif message["type"] == "http.disconnect":
            self.disconnected = True

    async def drain(self, receive: Receive) -> None:
        """Read what the handler left unread, so the fingerprint covers the whole body."""
        while not (self.complete or self.disconnected):
            if self.fingerprint.body_bytes > self.limit:
                return
            self.record(await receive())


class IdempotencyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self._next_sweep = 0.0

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("state", {}).get("principal")
        values = _header_values(scope, b"idempotency-key")
        if scope.get("method") != "POST" or not isinstance(principal, Principal) or not values:
            await next_app(scope, receive, send)
            return
        key = _key_of(values)
        ctx: AppContext = scope["litestar_app"].state["ctx"]
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        content_type = (_header_values(scope, b"content-type") or [""])[0]
        keyed = _KeyedRequest(
            store=IdempotencyStore(ctx.sessions, ctx.write_lock),
            org_id=principal.org_id,
            key=key,
            target=target,
            body=_Body(
                RequestFingerprint("POST", target, content_type),
                limit=ctx.settings.max_upload_bytes + _BODY_OVERHEAD,
            ),
        )
        try:
            existing = await keyed.store.claim(keyed.org_id, keyed.key_hash, "POST", target)
        except KeyBusyError:
            raise _in_flight() from None
        if existing is not None:
            await keyed.replay(existing, receive, send)
            return
        await self._sweep_now_and_then(keyed.store)
        await keyed.run(scope, receive, send, next_app)

    async def _sweep_now_and_then(self, store: IdempotencyStore) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY_S
        try:
            removed = await store.sweep()
        except Exception:
            logger.warning("could not sweep expired idempotency keys", exc_info=True)
            return
        if removed:
            logger.info("swept %d expired idempotency keys", removed)


def _key_of(values: list[str]) -> str:
    if len(values) > 1:
        raise _conflict("Send one Idempotency-Key header, not several.", 400)
    try:
        return parse_key(values[0])
    except InvalidKeyError as exc:
        raise _conflict(f"Invalid Idempotency-Key: {exc}.", 400) from None


def _in_flight() -> ApiError:
    return _conflict(
        "A request with this Idempotency-Key is still being processed; retry later.",
        409,
        **{"Retry-After": "1"},
    )


@dataclass(slots=True)
class _KeyedRequest:
    """A POST that carries a key, with what is needed to claim, replay or store it."""

    store: IdempotencyStore
    org_id: str
    key: str
    target: str
    body: _Body

    @property
    def key_hash(self) -> str:
        return lookup_hash(self.org_id, self.key)

    async def replay(self, existing: StoredRequest, receive: Receive, send: Send) -> None:
        """Answer a key seen before: its stored response, or why there is none to give."""
        mismatch = "This Idempotency-Key was used for a different request; use a new key."
        if existing.method != "POST" or existing.path != self.target:
            raise _conflict(mismatch, 422)
        if existing.status_code is None or existing.body is None:
            raise _in_flight()
        await self.body.drain(receive)
        if not self.body.complete or self.body.fingerprint.hexdigest() != existing.request_hash:
            raise _conflict(mismatch, 422)
        content = unseal(self.org_id, self.key, existing.body)
        headers = [
            (b"content-length", str(len(content)).encode()),
            (b"idempotent-replayed", b"true"),
        ]
        if existing.content_type:
            headers.append((b"content-type", existing.content_type.encode("latin-1")))
        if existing.request_id:
            # The stored answer names the first request (an error body carries its id), so
            # the header does too; ApiMiddleware then adds no id of its own.
            headers.append((b"x-request-id", existing.request_id.encode("latin-1")))
        start = {"type": "http.response.start", "status": existing.status_code, "headers": headers}
        await send(start)  # type: ignore[arg-type]
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def run(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Run the request holding the key; store its response (or release the key), send it."""
        messages: list[Message] = []

        async def recording_receive() -> ReceiveMessage:
            message = await receive()
            self.body.record(message)
            return message

        async def buffering_send(message: Message) -> None:
            messages.append(message)

        try:
            await next_app(scope, recording_receive, buffering_send)
        except BaseException:
            await self._release()
            raise
        status = next((m["status"] for m in messages if m["type"] == "http.response.start"), 500)
        content = b"".join(
            m.get("body", b"") for m in messages if m["type"] == "http.response.body"
        )
        keep = _stored_status(status) and len(content) <= _MAX_STORED_BODY
        if keep:
            await self.body.drain(receive)
        if keep and self.body.complete:
            await self._store(status, _content_type(messages), scope, content)
        else:
            await self._release()
        for message in messages:
            await send(message)

    async def _store(
        self, status: int, content_type: str | None, scope: Scope, content: bytes
    ) -> None:
        try:
            await self.store.complete(
                self.org_id,
                self.key_hash,
                request_hash=self.body.fingerprint.hexdigest(),
                status_code=status,
                content_type=content_type,
                request_id=scope.get("state", {}).get("request_id"),
                body=seal(self.org_id, self.key, content),
            )
        except Exception:
            logger.warning("could not store the response of an idempotent request", exc_info=True)
            await self._release()

    async def _release(self) -> None:
        try:
            await self.store.release(self.org_id, self.key_hash)
        except Exception:
            # The claim then lapses after IN_FLIGHT_TIMEOUT; until then retries get 409.
            logger.warning("could not release an idempotency key", exc_info=True)


def _content_type(messages: list[Message]) -> str | None:
    for message in messages:
        if message["type"] == "http.response.start":
            for name, value in message.get("headers", ()):
                if name.lower() == b"content-type":
                    return str(value.decode("latin-1"))
    return None
