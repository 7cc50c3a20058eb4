"""The printer's own MQTT endpoint: on a Bambu printer the broker *is* the printer.

Clients log in as `bblp` with the LAN access code over TLS, subscribe to
`device/{serial}/report` (any filter matching it, e.g. `device/+/report`), and publish
commands to `device/{serial}/request` (../shared/peers/bambu/README.md facts 1–3, from
OpenBambuAPI mqtt.md and bambu-rs docs/protocol.md). This server does only that: requests
go to one callback, reports go to every matching subscriber at QoS 0. No retained
messages, no sessions kept, no routing between clients, as a printer needs none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from typing import Any

from agent.sim.bambu.logins import LoginGuard
from shared.mqtt.packets import (
    PROTOCOLS,
    SUBACK_FAILURE,
    Bare,
    Connect,
    ConnectCode,
    MalformedPacket,
    PacketIdOnly,
    PacketReader,
    PacketType,
    Publish,
    Subscribe,
    Unsubscribe,
    encode_bare,
    encode_connack,
    encode_id_only,
    encode_publish,
    encode_suback,
)
from shared.mqtt.topics import TopicError, check_filter, matches

log = logging.getLogger(__name__)

USERNAME = "bblp"
CONNECT_TIMEOUT_S = 10.0
# Reports queued for one slow client before it is dropped rather than the printer stalled.
MAX_QUEUED = 256
MAX_PACKET_BYTES = 1024 * 1024

RequestHandler = Callable[[dict[str, Any]], None]


class _Client:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.filters: set[str] = set()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(MAX_QUEUED)

    def send(self, data: bytes) -> bool:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            return False
        return True


class PrinterMqttServer:
    def __init__(
        self,
        serial: str,
        access_code: str,
        on_request: RequestHandler,
        *,
        ssl_context: ssl.SSLContext,
        host: str = "127.0.0.1",
        port: int = 8883,
        logins: LoginGuard | None = None,
    ) -> None:
        self.serial = serial
        self._access_code = access_code.encode()
        self._on_request = on_request
        self._ssl = ssl_context
        self._host = host
        self._port = port
        self._logins = logins or LoginGuard()
        self._server: asyncio.Server | None = None
        self._clients: set[_Client] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.report_topic = f"device/{serial}/report"
        self.request_topic = f"device/{serial}/request"

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def subscriber_count(self) -> int:
        return sum(
            1 for c in self._clients if any(matches(f, self.report_topic) for f in c.filters)
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, ssl=self._ssl, reuse_address=True
        )
        self._port = self.port

    async def stop(self) -> None:
        """Stop listening and drop every client (a reboot, or the end)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for client in list(self._clients):
            client.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def publish_report(self, payload: dict[str, Any]) -> None:
        self.publish_raw(json.dumps(payload).encode())

    def publish_raw(self, body: bytes) -> None:
        """Any bytes as a report: a printer that lies, for fault injection."""
        data = encode_publish(self.report_topic, body)
        for client in list(self._clients):
            if any(matches(f, self.report_topic) for f in client.filters) and not client.send(data):
                log.warning("simulated printer: a client reads too slowly; dropping it")
                client.writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        client = _Client(writer)
        sender = asyncio.create_task(self._send_loop(client))
        try:
            await self._session(client, reader)
        except (ConnectionError, ssl.SSLError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except MalformedPacket as exc:
            log.info("simulated printer: client broke the protocol: %s", exc)
        finally:
            self._clients.discard(client)
            self._tasks.discard(task)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            writer.transport.abort()

    async def _send_loop(self, client: _Client) -> None:
        while (data := await client.queue.get()) is not None:
            client.writer.write(data)
            await client.writer.drain()

    async def _session(self, client: _Client, reader: asyncio.StreamReader) -> None:
        packets = PacketReader(MAX_PACKET_BYTES)
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            first = await _next(packets, reader)
        if not isinstance(first, Connect):
            return
        code = self._admit(first)
        client.writer.write(encode_connack(False, code))
        await client.writer.drain()
        if code is not ConnectCode.ACCEPTED:
            return
        self._clients.add(client)
        idle = 1.5 * first.keepalive_s if first.keepalive_s else None
        while True:
            async with asyncio.timeout(idle):
                packet = await _next(packets, reader)
            match packet:
                case Publish(topic=topic, payload=payload, qos=qos, packet_id=packet_id):
                    if qos == 1 and packet_id is not None:
                        client.send(encode_id_only(PacketType.PUBACK, packet_id))
                    elif qos == 2 and packet_id is not None:
                        client.send(encode_id_only(PacketType.PUBREC, packet_id))
                    if topic == self.request_topic:
                        self._request(payload)
                case PacketIdOnly(type=PacketType.PUBREL, packet_id=packet_id):
                    client.send(encode_id_only(PacketType.PUBCOMP, packet_id))
                case PacketIdOnly():
                    pass  # PUBACK/PUBREC/PUBCOMP: we publish at QoS 0 only
                case Subscribe(packet_id=packet_id, topics=topics):
                    client.send(
                        encode_suback(packet_id, [self._subscribe(client, t, q) for t, q in topics])
                    )
                case Unsubscribe(packet_id=packet_id, topics=topics):
                    client.filters.difference_update(topics)
                    client.send(encode_id_only(PacketType.UNSUBACK, packet_id))
                case Bare(type=PacketType.PINGREQ):
                    client.send(encode_bare(PacketType.PINGRESP))
                case Bare(type=PacketType.DISCONNECT):
                    return
                case _:
                    raise MalformedPacket(f"unexpected {type(packet).__name__} from a client")

    def _admit(self, connect: Connect) -> ConnectCode:
        if (connect.protocol_name, connect.protocol_level) not in PROTOCOLS:
            return ConnectCode.BAD_PROTOCOL_VERSION
        if not self._logins.allowed():
            return ConnectCode.NOT_AUTHORIZED
        if connect.username != USERNAME or connect.password != self._access_code:
            self._logins.failed()
            return ConnectCode.BAD_CREDENTIALS
        self._logins.succeeded()
        return ConnectCode.ACCEPTED

    @staticmethod
    def _subscribe(client: _Client, topic_filter: str, qos: int) -> int:
        try:
            check_filter(topic_filter)
        except TopicError:
            return SUBACK_FAILURE
        client.filters.add(topic_filter)
        return min(qos, 1)

    def _request(self, payload: bytes) -> None:
        # Some Orca builds end the payload with a NUL (bambuddy mqtt_server.py L1353-1363).
        text = payload.rstrip(b"\x00")
        try:
            message = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            log.info("simulated printer: request is not JSON; ignored")
            return
        if not isinstance(message, dict):
            return
        try:
            self._on_request(message)
        except Exception:
            # A request the model chokes on must not end the client's session.
            log.exception("simulated printer: request %r failed", message)


async def _next(packets: PacketReader, reader: asyncio.StreamReader) -> Any:
    while (packet := packets.next_packet()) is None:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("client closed the connection")
        packets.feed(data)
    return packet
