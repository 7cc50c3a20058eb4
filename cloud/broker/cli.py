"""The work behind `apf broker init | run`."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import sys
from pathlib import Path

from cloud.broker.dynsec import DynamicSecurity
from cloud.broker.server import SECURITY_FILE, Broker, BrokerSettings, Listener
from cloud.mqttauth.roles import cloud_role, stored_role


def _fail(message: str) -> int:
    print(f"apf broker: {message}", file=sys.stderr)
    return 2


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listener {text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def init(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    generated = args.password_file is None
    if generated:
        password = secrets.token_urlsafe(24)
    else:
        try:
            password = Path(args.password_file).read_text().strip()
        except OSError as exc:
            return _fail(f"cannot read {args.password_file}: {exc.strerror}")
        if len(password) < 12:
            return _fail("the administrator's password must be at least 12 characters")
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    # The cloud logs in as this user: it gets the cloud's role now, not on first contact.
    DynamicSecurity(data_dir / SECURITY_FILE).ensure_admin(
        args.admin, password, [stored_role(cloud_role())]
    )
    print(f"administrator {args.admin!r} ready in {data_dir / SECURITY_FILE}")
    if generated:
        print("password (shown once; put it in the cloud's APF_MQTT_URL):")
        print(password)
    return 0


def settings_from(args: argparse.Namespace) -> BrokerSettings:
    listeners = [Listener(*parse_listen(t)) for t in args.listen or []]
    for text in args.tls_listen or []:
        if not args.certfile or not args.keyfile:
            raise ValueError("--tls-listen needs --certfile and --keyfile")
        host, port = parse_listen(text)
        listeners.append(Listener(host, port, args.certfile, args.keyfile))
    return BrokerSettings(listeners=tuple(listeners) or (Listener(),), data_dir=Path(args.data_dir))


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ValueError as exc:
        return _fail(str(exc))
    assert settings.data_dir is not None
    if not (settings.data_dir / SECURITY_FILE).exists():
        return _fail(
            f"no users in {settings.data_dir}: run `apf broker init --data-dir "
            f"{settings.data_dir}` first (nobody could log in)"
        )

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with Broker(settings) as broker:
            for listener, port in zip(settings.listeners, broker.ports, strict=True):
                scheme = "mqtts" if listener.tls else "mqtt"
                print(f"listening on {scheme}://{listener.host}:{port}", flush=True)
            await stop.wait()

    try:
        asyncio.run(serve())
    except OSError as exc:
        return _fail(f"cannot listen: {exc.strerror or exc}")
    return 0
