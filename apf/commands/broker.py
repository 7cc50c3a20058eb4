"""`apf broker init | run`: the embedded MQTT broker as its own process (one-box installs)."""

from __future__ import annotations

import argparse
from typing import Any

from apf.help import add_command


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "broker",
        summary="the embedded MQTT broker (closed: logins, ACLs, TLS)",
        description="A pure-Python MQTT 3.1.1 broker for one-box installs. Every client logs "
        "in; the cloud administers users and roles over the dynamic-security control topic "
        "(docs/deploy.md).",
        examples=[
            "apf broker init --data-dir /var/lib/apf/broker",
            "apf broker run --data-dir /var/lib/apf/broker --listen 0.0.0.0:1883",
        ],
    )
    sub = parser.add_subparsers(dest="broker_command", metavar="COMMAND", required=True)

    init = add_command(
        sub,
        "init",
        summary="create the administrator the cloud logs in as (or reset its password); "
        "prints the password on the last line when it was generated",
        examples=["apf broker init --data-dir /var/lib/apf/broker --password-file admin.txt"],
    )
    init.add_argument("--data-dir", required=True, help="the broker's state directory")
    init.add_argument("--admin", default="apf-admin", help="administrator user name")
    init.add_argument(
        "--password-file", help="read the password from this file (default: generate one)"
    )
    init.set_defaults(handler=_init)

    run = add_command(
        sub,
        "run",
        summary="serve until SIGINT/SIGTERM",
        description="Serve MQTT on the listeners given (default 127.0.0.1:1883) until "
        "SIGINT/SIGTERM; `apf broker init` first creates the administrator.",
        examples=[
            "apf broker run --data-dir /var/lib/apf/broker --listen 0.0.0.0:1883",
            "apf broker run --data-dir DIR --tls-listen 0.0.0.0:8883 --certfile c.pem "
            "--keyfile k.pem",
        ],
    )
    run.add_argument("--data-dir", required=True, help="the broker's state directory")
    run.add_argument(
        "--listen",
        action="append",
        metavar="HOST:PORT",
        help="plain MQTT listener (repeatable; default 127.0.0.1:1883)",
    )
    run.add_argument(
        "--tls-listen", action="append", metavar="HOST:PORT", help="TLS listener (repeatable)"
    )
    run.add_argument("--certfile", help="server certificate chain (PEM) for --tls-listen")
    run.add_argument("--keyfile", help="its private key (PEM)")
    run.add_argument(
        "--max-queued",
        type=int,
        default=10_000,
        help="QoS 1 messages kept per client while it is slow or away (default 10000)",
    )
    run.set_defaults(handler=_run)


def _init(args: argparse.Namespace) -> int:
    from cloud.broker.cli import init

    return init(args)


def _run(args: argparse.Namespace) -> int:
    from cloud.broker.cli import run

    return run(args)
