"""One MQTT session with a Bambu printer: TLS with a pinned certificate, then MQTT 3.1.1.

The printer is the broker (../shared/peers/bambu/README.md facts 1–6): log in as `bblp`
with the access code, subscribe to `device/{serial}/report`, publish to
`device/{serial}/request`. We speak MQTT ourselves over an asyncio TLS stream (the codec
in shared/mqtt) rather than through a general client, for one reason: the printer's
certificate is self-signed, so it is checked against a pinned SHA-256 fingerprint *before*
the access code is sent, which the general clients give no hook for.

Commands carry a `sequence_id` from our own counter; the printer's acknowledgement echoes
it and adds `result` (fact 6). Reports carry the printer's own counter, so only a message
with `result` and our id answers a command.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import ssl
from collections.abc import AsyncIterator
from typing import Any

from agent.drivers.bambu.config import certificate_fingerprint
from shared.mqtt.packets import (
    Connack,
    Connect,
    ConnectCode,
    MalformedPacket,
    PacketReader,
    PacketType,
    Publish,
    Suback,
    encode_bare,
    encode_connect,
    encode_publish,
    encode_subscribe,
)

log = logging.getLogger(__name__)

USERNAME = "bblp"
KEEPALIVE_S = 30
MAX_QUEUED_REPORTS = 1000
# Firmware from January 2025 refuses unsigned control with this code (OpenBambuAPI
# cloud-x509-auth.md; bambu-rs docs/protocol.md §Access modes); others drop it silently.
UNSIGNED_COMMAND_ERROR = 84033543
DEVELOPER_MODE_HINT = (
    "the printer ignored the command: turn on LAN Only mode and Developer Mode on the "
    "printer's screen (firmware from January 2025 takes control commands from third-party "
    "software only in Developer Mode)"
)


class LinkError(Exception):
    """The session failed; the message says what a person can do about it."""


class AccessRefusedError(LinkError):
    pass


class CertificateMismatchError(LinkError):
    pass


class CommandRefusedError(LinkError):
    pass


class NoAnswerError(LinkError):
    pass


def _client_context() -> ssl.SSLContext:
    # The certificate is self-signed by the printer's own CA: no chain to check, no
    # hostname to match (printers are reached by IP); the fingerprint pin replaces both.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class BambuLink:
    """Use `async with BambuLink.open(...) as link`: `reports()` and `request()` then work."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, serial: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.fingerprint = ""
        self.report_topic = f"device/{serial}/report"
        self.request_topic = f"device/{serial}/request"
        self._packets = PacketReader(16 * 1024 * 1024)
        # Bounded: a consumer this far behind is stuck; the session ends and starts afresh.
        self._reports: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue(
            MAX_QUEUED_REPORTS
        )
        self._ended: LinkError | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        # Ids below 2**31 (bambu-rs notes larger ones as unverified); a random start keeps
        # a reconnect from meeting an acknowledgement meant for the last session.
        self._ids = itertools.count(random.randrange(1_000, 1_000_000))
        self._tasks: list[asyncio.Task[None]] = []
        self._write_lock = asyncio.Lock()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        host: str,
        port: int,
        serial: str,
        access_code: str,
        *,
        pinned: str | None,
        timeout_s: float,
    ) -> AsyncIterator[BambuLink]:
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(host, port, ssl=_client_context())
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise LinkError(
                f"cannot reach the printer's MQTT port {port} at {host}: {exc}"
            ) from exc
        link = cls(reader, writer, serial)
        try:
            link._check_certificate(pinned)
            try:
                async with asyncio.timeout(timeout_s):
                    await link._login(access_code)
            except TimeoutError as exc:
                raise LinkError(f"the printer at {host} did not answer the MQTT login") from exc
            except (OSError, ssl.SSLError, MalformedPacket) as exc:
                raise LinkError(f"the MQTT login to the printer at {host} failed: {exc}") from exc
            link._tasks = [
                asyncio.create_task(link._read_loop(), name=f"bambu-read:{serial}"),
                asyncio.create_task(link._ping_loop(), name=f"bambu-ping:{serial}"),
            ]
            yield link
        finally:
            await link._close()

    def _check_certificate(self, pinned: str | None) -> None:
        ssl_object = self._writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise LinkError("the printer sent no TLS certificate")
        self.fingerprint = certificate_fingerprint(der)
        if pinned is not None and self.fingerprint != pinned:
            raise CertificateMismatchError(
                f"the printer's TLS certificate changed (pinned SHA-256 {pinned}, now "
                f"{self.fingerprint}); if this is the same printer, or it was replaced, put "
                f"fingerprint={self.fingerprint} in its connection to accept the new one"
            )

    async def _login(self, access_code: str) -> None:
        connect = Connect(
            protocol_name="MQTT",
            protocol_level=4,
            client_id=f"apf-{random.getrandbits(48):012x}",
            clean_session=True,
            keepalive_s=KEEPALIVE_S,
            username=USERNAME,
            password=access_code.encode(),
        )
        await self._write(encode_connect(connect))
        answer = await self._next_packet()
        if not isinstance(answer, Connack):
            raise LinkError("the printer did not answer the login with CONNACK")
        if answer.code in (ConnectCode.BAD_CREDENTIALS, ConnectCode.NOT_AUTHORIZED):
            raise AccessRefusedError(
                "the printer refused the access code (check it on the printer's screen: "
                "Settings → Network / LAN Only; after repeated failures the printer locks "
                "LAN access for a while)"
            )
        if answer.code is not ConnectCode.ACCEPTED:
            raise LinkError(f"the printer refused the MQTT login: {answer.code.name}")
        await self._write(encode_subscribe(1, [(self.report_topic, 0)]))
        # A server may deliver matching messages before the SUBACK (MQTT 3.1.1 §3.8.4).
        while not isinstance(suback := await self._next_packet(), Suback):
            if isinstance(suback, Publish) and suback.topic == self.report_topic:
                self._take(suback.payload)
        if any(code >= 0x80 for code in suback.codes):
            raise LinkError(f"the printer refused the subscription to {self.report_topic}")

    # --- reading -----------------------------------------------------------------------

    async def _next_packet(self) -> Any:
        while (packet := self._packets.next_packet()) is None:
            data = await self._reader.read(65536)
            if not data:
                raise LinkError("the printer closed the MQTT connection")
            self._packets.feed(data)
        return packet

    async def _read_loop(self) -> None:
        """Reads until the link ends; however it ends, `reports()` and waiting requests
        learn it (a reader that died quietly would freeze the printer's state)."""
        ended = LinkError("the MQTT link closed")
        try:
            while True:
                async with asyncio.timeout(KEEPALIVE_S * 1.5):
                    packet = await self._next_packet()
                if isinstance(packet, Publish) and packet.topic == self.report_topic:
                    self._take(packet.payload)
        except TimeoutError:
            ended = LinkError("the printer went silent (no MQTT traffic for 45 s)")
        except LinkError as exc:
            ended = exc
        except (MalformedPacket, OSError, ssl.SSLError) as exc:
            ended = LinkError(f"MQTT link broke: {exc}")
        except Exception as exc:
            log.exception("bambu: reading the printer's messages failed")
            ended = LinkError(f"MQTT link broke: {type(exc).__name__}: {exc}")
        finally:
            self._fail(ended)

    def _take(self, payload: bytes) -> None:
        try:
            message = json.loads(payload.rstrip(b"\x00"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            log.warning("bambu: a report that is not JSON was ignored")
            return
        if not isinstance(message, dict):
            return
        for body in message.values():
            if isinstance(body, dict) and "result" in body:
                future = self._pending.pop(str(body.get("sequence_id")), None)
                if future is not None and not future.done():
                    future.set_result(body)
        try:
            self._reports.put_nowait(message)
        except asyncio.QueueFull:
            raise LinkError("the printer's reports are not being handled; reconnecting") from None

    def _fail(self, exc: LinkError) -> None:
        if self._ended is not None:
            return
        self._ended = exc
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()
        # Even into a full queue: the consumer must learn the end more than the oldest report.
        if self._reports.full():
            self._reports.get_nowait()
        self._reports.put_nowait(exc)

    async def reports(self) -> AsyncIterator[dict[str, Any]]:
        """Every message from the printer, in order; raises LinkError when the link ends."""
        while True:
            item = await self._reports.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    # --- writing -----------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """Fire and forget: pushall, get_version."""
        await self._write(encode_publish(self.request_topic, json.dumps(message).encode()))

    async def request(
        self, category: str, command: str, *, timeout_s: float, **fields: Any
    ) -> dict[str, Any]:
        """Send a command and wait for its acknowledgement; raise when refused or unanswered."""
        sequence_id = str(next(self._ids) % 2**31)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[sequence_id] = future
        body = {"sequence_id": sequence_id, "command": command, **fields}
        try:
            async with asyncio.timeout(timeout_s):
                await self.send({category: body})
                ack = await future
        except TimeoutError:
            raise NoAnswerError(DEVELOPER_MODE_HINT) from None
        finally:
            self._pending.pop(sequence_id, None)
        if _mentions(ack, UNSIGNED_COMMAND_ERROR):
            raise CommandRefusedError(DEVELOPER_MODE_HINT)
        if str(ack.get("result", "")).lower() != "success":
            reason = ack.get("reason") or ack.get("result") or "no reason given"
            raise CommandRefusedError(f"the printer refused {command}: {reason}")
        return ack

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S / 2)  # the keep-alive period, not synchronisation
            try:
                async with asyncio.timeout(KEEPALIVE_S):
                    await self._write(encode_bare(PacketType.PINGREQ))
            except (LinkError, TimeoutError) as exc:
                self._fail(exc if isinstance(exc, LinkError) else LinkError("MQTT writes stall"))
                self._writer.transport.abort()  # wakes the reader, which reports the end
                return

    async def _write(self, data: bytes) -> None:
        if self._ended is not None:
            raise self._ended
        if self._writer.is_closing():
            raise LinkError("the MQTT link closed")
        try:
            async with self._write_lock:
                self._writer.write(data)
                await self._writer.drain()
        except (OSError, ssl.SSLError) as exc:
            raise LinkError(f"MQTT link broke: {exc}") from exc

    async def _close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            if not self._writer.is_closing():
                self._writer.write(encode_bare(PacketType.DISCONNECT))
        self._writer.transport.abort()
        self._fail(LinkError("the MQTT link closed"))


def _mentions(ack: dict[str, Any], code: int) -> bool:
    return any(str(code) in str(value) for value in ack.values())
