"""The work behind `apf cloud …` (kept here so `apf` itself imports nothing heavy)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from cloud.db import migrate as migrations
from cloud.db.engine import create_engine, session_factory
from cloud.settings import Settings, SettingsError, load_settings


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "database_url": getattr(args, "database_url", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
    }
    return load_settings(toml_path=getattr(args, "config", None), overrides=overrides)


def _fail(message: str) -> int:
    print(f"apf cloud: {message}", file=sys.stderr)
    return 2


def migrate(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        return _fail(str(exc))

    async def run() -> migrations.SchemaStatus:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await migrations.upgrade(engine)
        finally:
            await engine.dispose()

    status = asyncio.run(run())
    print(f"database schema at revision {status.current} (newest: {status.head})")
    return 0


def create_org(args: argparse.Namespace) -> int:
    from cloud.services.admin import create_org as create

    try:
        settings = settings_from(args)
    except SettingsError as exc:
        return _fail(str(exc))

    async def run() -> tuple[migrations.SchemaStatus, object]:
        engine = create_engine(settings.resolved_database_url)
        try:
            status = await migrations.schema_status(engine)
            if not status.up_to_date:
                return status, None
            async with session_factory(engine)() as session:
                return status, await create(
                    session, args.name, owner_email=args.owner_email, plan=args.plan
                )
        finally:
            await engine.dispose()

    try:
        status, created = asyncio.run(run())
    except ValueError as exc:
        return _fail(str(exc))
    if created is None:
        return _fail(_outdated(status))
    from cloud.services.admin import CreatedOrg

    assert isinstance(created, CreatedOrg)
    print(f"organization {created.org_id} ({args.name}), owner {created.user_id}")
    print("API key (shown once; store it now):")
    print(created.api_key)
    return 0


def _outdated(status: migrations.SchemaStatus) -> str:
    return (
        f"the database schema is at revision {status.current or 'none (empty database)'}, "
        f"this version needs {status.head}; run `apf cloud migrate` with the same "
        "--data-dir/--database-url first"
    )


def serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        return _fail(str(exc))

    async def check() -> migrations.SchemaStatus:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await migrations.schema_status(engine)
        finally:
            await engine.dispose()

    status = asyncio.run(check())
    if not status.up_to_date:
        return _fail(_outdated(status))
    from cloud.server import run_server

    run_server(settings, workers=args.workers)
    return 0


def check_broker(args: argparse.Namespace) -> int:
    """Log in to the broker as the cloud does and say whether it can administer it."""
    from cloud.broker_check import check

    try:
        settings = settings_from(args)
    except SettingsError as exc:
        return _fail(str(exc))
    if not settings.mqtt_url:
        return _fail("mqtt_url is not set (APF_MQTT_URL): there is no broker to check")
    ok, lines = asyncio.run(check(settings))
    for line in lines:
        print(line)
    return 0 if ok else 1


def rotate_secrets(args: argparse.Namespace) -> int:
    """Seal every secret kept at rest under the current secrets key."""
    from cloud.app import build_context
    from cloud.services.rotation import reseal_all

    try:
        settings = settings_from(args)
        ctx = build_context(settings)
    except SettingsError as exc:
        return _fail(str(exc))

    async def run() -> tuple[migrations.SchemaStatus, dict[str, int] | None]:
        try:
            status = await migrations.schema_status(ctx.engine)
            if not status.up_to_date:
                return status, None
            return status, await reseal_all(ctx)
        finally:
            await ctx.engine.dispose()
            if ctx.background_engine is not None:
                await ctx.background_engine.dispose()

    status, counts = asyncio.run(run())
    if counts is None:
        return _fail(_outdated(status))
    for what, count in counts.items():
        print(f"{what}: {count} re-sealed")
    print(f"every secret is now sealed under key {ctx.secrets.current_key_id}")
    return 0
