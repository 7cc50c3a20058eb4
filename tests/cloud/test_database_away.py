"""The database away is a 503 the SDKs retry (with Retry-After), not a 500; a write refused by
a constraint because of a concurrent change is a 409."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from sqlalchemy import exc

from cloud.app import build_context, create_app
from cloud.errors import to_api_error
from cloud.problems import Conflict
from cloud.settings import Settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


async def test_an_unreachable_database_is_a_503_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=str(tmp_path),
        database_url=f"postgresql://postgres@127.0.0.1:{_closed_port()}/apf",
        public_url="http://testserver.local",
        db_timeout_s=2,
    )
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            # The API key's lookup is the first thing that needs the database.
            r = await client.get(
                "/v1/printers", headers={"Authorization": "Bearer apf_" + "x" * 40}
            )
    finally:
        await ctx.engine.dispose()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    error = r.json()["error"]
    assert error["code"] == "internal_error" and "retry" in error["message"]


def test_a_constraint_refusing_a_write_is_a_conflict() -> None:
    refused = exc.IntegrityError("INSERT INTO jobs …", {}, Exception("foreign key violation"))
    problem = to_api_error(refused)
    assert isinstance(problem, Conflict)
    assert "retry" in problem.message


def test_a_lost_connection_is_unavailable_and_other_database_errors_are_not() -> None:
    lost = exc.DBAPIError(
        "SELECT 1", {}, Exception("connection closed"), connection_invalidated=True
    )
    assert getattr(to_api_error(lost), "status_code", None) == 503
    syntax = exc.ProgrammingError("SELEC 1", {}, Exception("syntax error"))
    assert getattr(to_api_error(syntax), "status_code", None) == 500
