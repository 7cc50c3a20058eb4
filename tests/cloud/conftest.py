"""Fixtures for the cloud API: an app on SQLite and (with APF_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from litestar import Litestar

from cloud.app import build_context, create_app
from cloud.db import migrate
from cloud.db.engine import create_engine, session_factory
from cloud.db.reader import SqliteReader
from cloud.orchestration.db import writing
from cloud.services.admin import CreatedOrg, create_org
from cloud.settings import Settings, database_url_for
from tests.support.postgres import create_database, drop_database

SQLITE_ONLY = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; each test copies it (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "apf.sqlite3"

    async def run() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate.upgrade(engine)
            async with engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await engine.dispose()

    asyncio.run(run())
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite_template: Path
) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if request.param == "sqlite":
        shutil.copy(migrated_sqlite_template, data_dir / "apf.sqlite3")
        return Settings(
            data_dir=str(data_dir),
            allow_private_urls=True,
            public_url="http://testserver.local",
            sqlite_unlocked_writes="raise",  # every write path takes the lock, or fails here
        )
    url: str = request.getfixturevalue("postgres_from_template")
    return Settings(
        data_dir=str(data_dir),
        database_url=url,
        allow_private_urls=True,
        public_url="http://testserver.local",
    )


async def _migrate(url: str) -> None:
    engine = create_engine(database_url_for(url, "."))
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _admin_sql(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close(timeout=10)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database migrated once per session; tests clone it (CREATE … TEMPLATE),
    which takes a fraction of the time of running the migrations for each test."""
    admin_url = os.environ.get("APF_TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("PostgreSQL tests need APF_TEST_DATABASE_URL (CI sets it)")
    template_url = create_database(admin_url)
    asyncio.run(_migrate(template_url))
    try:
        yield admin_url, template_url
    finally:
        drop_database(admin_url, template_url)


@pytest.fixture
def postgres_from_template(postgres_template: tuple[str, str]) -> Iterator[str]:
    admin_url, template_url = postgres_template
    template = urlsplit(template_url).path.lstrip("/")
    name = f"apf_test_{secrets.token_hex(6)}"
    asyncio.run(_admin_sql(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        drop_database(admin_url, url)


@dataclass
class Api:
    """A test client plus helpers to create organizations (each with an all-scopes key)."""

    client: httpx.AsyncClient
    app: Litestar
    settings: Settings

    async def new_org(self, name: str = "Farm", plan: str = "pro") -> CreatedOrg:
        async with writing(self.app.state["ctx"]) as session:
            return await create_org(session, name, owner_email=f"owner@{name}.test", plan=plan)

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with open_api(settings) as opened:
        yield opened


@contextlib.asynccontextmanager
async def open_api(settings: Settings) -> AsyncIterator[Api]:
    """The app on `settings`, with a client. httpx's ASGI transport runs it on the test's own
    event loop (Litestar's AsyncTestClient uses a portal thread, whose loop asyncpg
    connections cannot cross)."""
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", timeout=30
        ) as client:
            yield Api(client=client, app=app, settings=settings)
    finally:
        await ctx.keys.drain()  # the keys' last-use stamps still on their way
        if ctx.snapshots is not None:
            await ctx.snapshots.close()
        await ctx.engine.dispose()
        if ctx.background_engine is not None:  # the test helpers' `writing` sessions
            await ctx.background_engine.dispose()


@dataclass
class OrgClient:
    """Requests as one organization's owner key."""

    api: Api
    org: CreatedOrg

    @property
    def headers(self) -> dict[str, str]:
        return Api.auth(self.org.api_key)

    async def request(self, method: str, url: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return await self.api.client.request(method, url, headers=headers, **kw)

    async def get(self, url: str, **kw: Any) -> Any:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> Any:
        return await self.request("POST", url, **kw)

    async def patch(self, url: str, **kw: Any) -> Any:
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> Any:
        return await self.request("DELETE", url, **kw)


@pytest.fixture
async def owner(api: Api) -> OrgClient:
    return OrgClient(api, await api.new_org("acme"))


@pytest.fixture
async def other(api: Api) -> OrgClient:
    return OrgClient(api, await api.new_org("rival"))


def assert_error(response: Any, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code, error
    assert error["request_id"].startswith("req_") or error["request_id"]
    assert response.headers["x-request-id"] == error["request_id"]
    if param is not None:
        assert error.get("param") == param, error


SessionRunner = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


@pytest.fixture
def in_db(api: Api) -> SessionRunner:
    """Run `fn(session)` on the app's database (to set up states the API cannot reach yet)."""

    async def run(fn: Callable[[Any], Awaitable[Any]]) -> Any:
        ctx = api.app.state["ctx"]
        async with ctx.write_lock.held(), session_factory(ctx.engine)() as session:
            result = await fn(session)
            await session.commit()
            return result

    return run


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[SqliteReader, sqlite3.Connection]]:
    """A `SqliteReader` on a WAL database with a table `t (v INTEGER)` and, beside it, a
    writer connection of its own (as the app's writer is), in autocommit."""
    path = tmp_path / "pair.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (v INTEGER)")
    reader = SqliteReader(f"sqlite+aiosqlite:///{path}", pool_size=2, timeout_s=5)
    try:
        yield reader, writer
    finally:
        reader.dispose()
        writer.close()


CopyRunner = Callable[..., Awaitable[None]]


@pytest.fixture
def run_copy(api: Api, in_db: SessionRunner) -> CopyRunner:
    """Put a copy of a job on a printer through the lifecycle, as the queue and the agent
    would: claimed (start sent), and unless ``started=False`` started (job.started)."""
    from cloud.db.models import Job, Printer
    from cloud.lifecycle.machine import Trigger
    from cloud.lifecycle.store import JobLife, Placement

    life = JobLife(api.app.state["ctx"])

    async def run(job_id: str, printer_id: str, *, started: bool = True) -> None:
        async def claim(session: Any) -> None:
            job = await session.get(Job, job_id)
            printer = await session.get(Printer, printer_id)
            where = Placement(printer.id, printer.agent_id, pinned=job.printer_id is not None)
            await life.apply(session, job, Trigger.CLAIM, placement=where)
            if started:
                await session.flush()
                await life.apply(session, job, Trigger.STARTED)

        await in_db(claim)

    return run
