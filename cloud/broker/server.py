"""The embedded MQTT broker: listeners, logins, the control topic, and keeping state.

A pure-Python MQTT 3.1.1 broker for one-box installs and the demo, closed like a
production Mosquitto: every client logs in (there is no anonymous access), each is held to
its roles' ACLs, failed logins are slowed and then locked out per address, and the cloud
administers users and roles over ``$CONTROL/dynamic-security/v1`` exactly as it does
Mosquitto's dynamic-security plugin. It keeps retained messages and sessions correctly
(a subscription receives the retained messages its filter matches, once each; QoS 1
messages wait for an absent persistent session), shares ``$share/{group}/…``
subscriptions, and listens with TLS when given a certificate. docs/deploy.md says why the
project has its own.

State on disk, under ``data_dir``: ``dynamic-security.json`` (users and roles, saved on
every change) and ``retained.msgpack`` (saved every ``autosave_s`` when changed, and at a
clean stop). Sessions live in memory only: after a restart agents and the cloud re-sync
(DESIGN.md), as they do after any broker outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from cloud.broker.acl import Action
from cloud.broker.connection import Connection
from cloud.broker.dynsec import CONTROL_TOPIC, RESPONSE_TOPIC, DynamicSecurity
from cloud.broker.router import Router, RouterLimits
from cloud.broker.session import Message, Session
from cloud.broker.throttle import LoginThrottle, ThrottleSettings
from shared.mqtt.packets import PROTOCOLS, Connect, ConnectCode, Will, encode_connack

log = logging.getLogger(__name__)

SECURITY_FILE = "dynamic-security.json"
RETAINED_FILE = "retained.msgpack"


@dataclass(frozen=True, slots=True)
class Listener:
    host: str = "127.0.0.1"
    port: int = 1883
    # With both, the listener speaks TLS only (mqtts://).
    certfile: str | None = None
    keyfile: str | None = None

    @property
    def tls(self) -> bool:
        return self.certfile is not None


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    listeners: tuple[Listener, ...] = (Listener(),)
    # None keeps nothing on disk (tests); users and roles then last as long as the process.
    data_dir: Path | None = None
    max_packet_bytes: int = 4 * 1024 * 1024
    connect_timeout_s: float = 10.0
    # A connection whose unsent bytes pass this drops QoS 0 messages instead of queueing.
    qos0_buffer_bytes: int = 1024 * 1024
    autosave_s: float = 30.0
    housekeeping_s: float = 60.0
    limits: RouterLimits = field(default_factory=RouterLimits)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)


class _StoredRetained(msgspec.Struct, array_like=True):
    topic: str
    payload: bytes
    qos: int


class Broker:
    """``async with Broker(settings) as broker:`` serves until the block ends."""

    def __init__(self, settings: BrokerSettings, *, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._clock = clock
        data_dir = settings.data_dir
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(data_dir, 0o700)
        self.security = DynamicSecurity(data_dir / SECURITY_FILE if data_dir else None)
        self.router = Router(settings.limits)
        self.throttle = LoginThrottle(settings.throttle, clock)
        self._servers: list[asyncio.Server] = []
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._control_lock = asyncio.Lock()
        self._retained_dirty = False
        self.ports: list[int] = []

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Broker:
        self._load_retained()
        try:
            for listener in self.settings.listeners:
                server = await asyncio.start_server(
                    self._accept,
                    listener.host,
                    listener.port,
                    ssl=_tls_context(listener) if listener.tls else None,
                    limit=self.settings.max_packet_bytes,
                )
                self._servers.append(server)
                self.ports.append(server.sockets[0].getsockname()[1])
                log.info(
                    "MQTT broker listening on %s:%d%s",
                    listener.host,
                    self.ports[-1],
                    " (TLS)" if listener.tls else "",
                )
        except BaseException:
            await self._close_servers()
            raise
        self._spawn(self._housekeeping(), "broker-housekeeping")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close_servers()
        for conn in list(self._connections):
            conn.close(with_will=False)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._save_retained()

    async def _close_servers(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        self._servers.clear()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self._connections.add(conn)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)

    async def _housekeeping(self) -> None:
        last_save = self._clock()
        while True:
            await asyncio.sleep(min(self.settings.housekeeping_s, self.settings.autosave_s))
            expired = self.router.expire(self._clock())
            if expired:
                log.info("forgot %d persistent sessions without a connection", expired)
            if self._clock() - last_save >= self.settings.autosave_s:
                self._save_retained()
                last_save = self._clock()

    # --- logging in -------------------------------------------------------------------

    async def admit(self, conn: Connection, pkt: Connect) -> Session | None:
        """Answer a CONNECT: the session the connection now holds, or None (refused)."""
        if (pkt.protocol_name, pkt.protocol_level) not in PROTOCOLS:
            conn.write(encode_connack(False, ConnectCode.BAD_PROTOCOL_VERSION))
            return None
        client_id = pkt.client_id
        if not client_id:
            if not pkt.clean_session:  # §3.1.3.1: a persistent session needs a client id
                _refuse(conn, ConnectCode.IDENTIFIER_REJECTED)
                return None
            client_id = f"auto-{secrets.token_hex(8)}"
        username = pkt.username
        if not await self._authenticate(conn, pkt):
            return None
        assert username is not None
        existing = self.router.sessions.get(client_id)
        if not self.security.client_id_allowed(username, client_id) or (
            existing is not None and existing.username != username
        ):
            # Another user's client id: taking it would knock that client off the broker.
            log.warning(
                "refused %s from %s: client id %s is not theirs", username, conn.address, client_id
            )
            _refuse(conn, ConnectCode.IDENTIFIER_REJECTED)
            return None
        policy = self.security.policy(username)
        if pkt.will is not None and not policy.allows(Action.PUBLISH, pkt.will.topic):
            log.warning("refused %s: its will topic %s is not allowed", username, pkt.will.topic)
            _refuse(conn, ConnectCode.NOT_AUTHORIZED)
            return None
        if existing is not None and existing.link is not None:
            existing.link.close(with_will=True)
        session = existing
        if pkt.clean_session or existing is None:
            if existing is not None:
                self.router.drop_session(client_id)
            limits = self.settings.limits
            session = Session(
                client_id=client_id,
                username=username,
                clean=pkt.clean_session,
                policy=policy,
                max_inflight=limits.max_inflight,
                max_queued=limits.max_queued,
            )
            self.router.sessions[client_id] = session
        assert session is not None
        session.policy = policy
        conn.write(encode_connack(session is existing, ConnectCode.ACCEPTED))
        session.attach(conn)
        log.debug("%s connected as %s from %s", client_id, username, conn.address)
        return session

    async def _authenticate(self, conn: Connection, pkt: Connect) -> bool:
        locked_s = self.throttle.locked_for_s(conn.address)
        if locked_s > 0:
            log.warning(
                "refused a login from %s: locked out for %.0f s more", conn.address, locked_s
            )
            await self._slow_refusal(conn)
            return False
        ok = False
        if pkt.username is not None and pkt.password is not None:
            password = pkt.password.decode("utf-8", "replace")
            ok = await asyncio.to_thread(self.security.check_password, pkt.username, password)
        if ok:
            return True
        if self.throttle.failed(conn.address):
            log.warning("%s locked out after repeated failed logins", conn.address)
        log.warning(
            "refused a login from %s: %s",
            conn.address,
            "no credentials" if pkt.username is None else f"bad credentials for {pkt.username!r}",
        )
        await self._slow_refusal(conn)
        return False

    async def _slow_refusal(self, conn: Connection) -> None:
        await asyncio.sleep(self.settings.throttle.failure_delay_s)
        _refuse(conn, ConnectCode.NOT_AUTHORIZED)

    # --- messages ---------------------------------------------------------------------

    async def publish_from_client(self, message: Message) -> None:
        if message.topic == CONTROL_TOPIC:
            await self._control(message)
        else:
            self.publish(message)

    def publish(self, message: Message) -> None:
        """A message from the broker itself (Wills, control responses)."""
        if message.retain:
            self._retained_dirty = True
        self.router.publish(message)

    async def _control(self, message: Message) -> None:
        async with self._control_lock:
            hashed = await asyncio.to_thread(self.security.hash_new_passwords, message.payload)
            outcome = self.security.execute(message.payload, hashed)
        self.publish(Message(RESPONSE_TOPIC, outcome.response, max(message.qos, 1), False))
        for username in outcome.kick:
            self.kick(username, forget=username not in self.security.clients)
        if outcome.roles_changed:
            self._recheck()

    def kick(self, username: str, *, forget: bool) -> None:
        """Disconnect a user's connections (no Will, as Mosquitto's dynsec does); with
        ``forget``, also drop their sessions and what was queued for them."""
        for session in self.router.sessions_of(username):
            if session.link is not None:
                session.link.close(with_will=False)
            if forget:
                self.router.drop_session(session.client_id)
        log.info(
            "disconnected %s (its login changed%s)",
            username,
            ", sessions dropped" if forget else "",
        )

    def _recheck(self) -> None:
        """Roles changed: recompute every policy (cheap, and changes are rare) and drop the
        subscriptions no longer allowed, so a narrowed role takes effect at once."""
        for session in list(self.router.sessions.values()):
            session.policy = self.security.policy(session.username)
            for raw in list(session.subscriptions):
                if not session.policy.allows(Action.SUBSCRIBE, raw):
                    self.router.unsubscribe(session, raw)

    def connection_ended(
        self, conn: Connection, session: Session | None, will: Will | None
    ) -> None:
        if will is not None:
            self.publish(Message(will.topic, will.payload, will.qos, will.retain))
        if session is None or not session.detach(conn, self._clock()):
            return
        if session.clean and self.router.sessions.get(session.client_id) is session:
            self.router.drop_session(session.client_id)

    # --- retained messages on disk ----------------------------------------------------

    def _load_retained(self) -> None:
        path = self._retained_path()
        if path is None or not path.exists():
            return
        try:
            stored = msgspec.msgpack.decode(path.read_bytes(), type=list[_StoredRetained])
        except (OSError, msgspec.DecodeError) as exc:
            log.warning("retained messages in %s are unreadable (%s): starting empty", path, exc)
            return
        for item in stored:
            self.router.retained[item.topic] = Message(item.topic, item.payload, item.qos, True)

    def _save_retained(self) -> None:
        path = self._retained_path()
        if path is None or not self._retained_dirty:
            return
        data = msgspec.msgpack.encode(
            [_StoredRetained(m.topic, m.payload, m.qos) for m in self.router.retained.values()]
        )
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        self._retained_dirty = False

    def _retained_path(self) -> Path | None:
        data_dir = self.settings.data_dir
        return data_dir / RETAINED_FILE if data_dir is not None else None


def _refuse(conn: Connection, code: ConnectCode) -> None:
    """Answer a CONNECT with a refusal; the caller returns no session."""
    conn.write(encode_connack(False, code))


def _tls_context(listener: Listener) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(listener.certfile or "", listener.keyfile)
    return context
