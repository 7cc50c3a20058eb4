"""Printer keys an earlier version kept in plain text are sealed at start-up; a failed write
does not carry its values into the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloud.app import build_context
from cloud.db import migrate
from cloud.db.models import Printer
from cloud.services.admin import create_org
from cloud.services.printer_secrets import printer_secret_purpose, seal_legacy_printer_secrets
from cloud.settings import Settings


async def test_plain_text_keys_of_an_earlier_version_are_sealed(tmp_path: Path) -> None:
    ctx = build_context(Settings(data_dir=str(tmp_path)))
    try:
        await migrate.upgrade(ctx.engine)
        async with ctx.sessions() as session:
            org = await create_org(session, "Farm", owner_email="o@x.invalid")
            session.add(
                Printer(
                    id="prt_old",
                    org_id=org.org_id,
                    name="old",
                    connection_kind="octoprint",
                    connection_url="http://op",
                    octoprint_api_key="PLAIN-KEY",
                )
            )
            await session.commit()
        assert await seal_legacy_printer_secrets(ctx) == 1
        assert await seal_legacy_printer_secrets(ctx) == 0  # once
        async with ctx.sessions() as session:
            row = await session.get(Printer, "prt_old")
            assert row is not None and row.octoprint_api_key is None
            assert row.connection_secret_sealed is not None
            opened = ctx.secrets.open(
                row.connection_secret_sealed, printer_secret_purpose("prt_old")
            )
            assert opened == "PLAIN-KEY"
    finally:
        await ctx.engine.dispose()


async def test_a_failed_write_does_not_show_its_values(tmp_path: Path) -> None:
    ctx = build_context(Settings(data_dir=str(tmp_path)))
    try:
        await migrate.upgrade(ctx.engine)
        async with ctx.sessions() as session:
            with pytest.raises(IntegrityError) as info:
                await session.execute(
                    text("INSERT INTO organizations (id, name) VALUES (:id, :name)"),
                    {"id": None, "name": "TOP-SECRET-VALUE"},
                )
        assert "TOP-SECRET-VALUE" not in str(info.value)
    finally:
        await ctx.engine.dispose()
