"""`apf cloud serve | migrate | admin create-org`: run and manage the cloud service."""

from __future__ import annotations

import argparse
from typing import Any

from apf.help import add_command


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML settings file (or APF_CONFIG)")
    parser.add_argument("--data-dir", help="SQLite file and stored G-code (default ./data)")
    parser.add_argument(
        "--database-url", help="e.g. postgresql://user:pass@host/db (default: SQLite in data dir)"
    )


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "cloud",
        summary="the cloud service: the /v1 API, the queue, the MQTT bridge",
        examples=["apf cloud migrate && apf cloud serve --host 0.0.0.0"],
    )
    sub = parser.add_subparsers(dest="cloud_command", metavar="COMMAND", required=True)

    serve = add_command(
        sub,
        "serve",
        summary="run the /v1 API",
        description="Serve the /v1 API, the job queue and the MQTT bridge (docs/api.md). The "
        "database must be up to date: run `apf cloud migrate` first.",
        examples=["apf cloud serve --host 0.0.0.0 --port 8000 --workers 2"],
    )
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(handler=_serve)

    migrate = add_command(
        sub,
        "migrate",
        summary="bring the database schema up to date",
        examples=["apf cloud migrate --database-url postgresql://apf:secret@db/apf"],
    )
    _common(migrate)
    migrate.set_defaults(handler=_migrate)

    check = add_command(
        sub,
        "check-broker",
        summary="log in to the broker (APF_MQTT_URL) and check the cloud can administer it",
        examples=["APF_MQTT_URL=mqtt://apf-admin:PASSWORD@127.0.0.1:1883 apf cloud check-broker"],
    )
    _common(check)
    check.set_defaults(handler=_check_broker)

    rotate = add_command(
        sub,
        "rotate-secrets",
        summary="re-seal every secret kept at rest under the current secrets key "
        "(after setting APF_SECRETS_KEY, with the old one in APF_SECRETS_OLD_KEYS)",
        examples=["APF_SECRETS_KEY=NEW APF_SECRETS_OLD_KEYS=OLD apf cloud rotate-secrets"],
    )
    _common(rotate)
    rotate.set_defaults(handler=_rotate_secrets)

    admin = add_command(
        sub,
        "admin",
        summary="operator tasks",
        examples=['apf cloud admin create-org "Acme Prints" --owner-email ops@acme.test'],
    )
    admin_sub = admin.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    create = add_command(
        admin_sub,
        "create-org",
        summary="create an organization and its owner; print the first API key on the last line",
        examples=['apf cloud admin create-org "Acme Prints" --owner-email ops@acme.test'],
    )
    _common(create)
    create.add_argument("name", help="organization name")
    create.add_argument("--owner-email", default="owner@localhost", help="the owner's email")
    create.add_argument("--plan", default="free", help="plan: free, pro or enterprise")
    create.set_defaults(handler=_create_org)


def _serve(args: argparse.Namespace) -> int:
    from cloud.cli import serve

    return serve(args)


def _migrate(args: argparse.Namespace) -> int:
    from cloud.cli import migrate

    return migrate(args)


def _check_broker(args: argparse.Namespace) -> int:
    from cloud.cli import check_broker

    return check_broker(args)


def _rotate_secrets(args: argparse.Namespace) -> int:
    from cloud.cli import rotate_secrets

    return rotate_secrets(args)


def _create_org(args: argparse.Namespace) -> int:
    from cloud.cli import create_org

    return create_org(args)
