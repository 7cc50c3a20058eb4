"""List pages served from the page cache are the same bytes, and never stale, on SQLite and
on PostgreSQL (where another replica's commit must show as well as this one's)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg

from cloud.db.engine import is_sqlite
from tests.cloud.api.test_printers import make_printer
from tests.cloud.conftest import Api, OrgClient

PAGE = "/v1/printers?per_page=100&sort=-created_at"


def _hits(api: Api) -> int:
    cache = api.app.state["ctx"].page_cache
    assert cache is not None
    return int(cache.hits)


async def test_a_repeated_list_is_served_from_the_cache_byte_for_byte(
    api: Api, owner: OrgClient
) -> None:
    await make_printer(owner, name="a")
    await make_printer(owner, name="b")
    first = await owner.get(PAGE)
    hits = _hits(api)
    again = await owner.get(PAGE)
    assert _hits(api) == hits + 1
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    jobs = await owner.get("/v1/jobs?status=queued")
    assert (await owner.get("/v1/jobs?status=queued")).content == jobs.content
    assert _hits(api) == hits + 2


async def test_a_write_through_the_api_shows_in_the_next_page(api: Api, owner: OrgClient) -> None:
    printer = await make_printer(owner, name="before")
    assert [p["name"] for p in (await owner.get(PAGE)).json()["data"]] == ["before"]
    r = await owner.patch(f"/v1/printers/{printer['id']}", json={"name": "after"})
    assert r.status_code == 200, r.text
    assert [p["name"] for p in (await owner.get(PAGE)).json()["data"]] == ["after"]


async def test_a_commit_by_another_process_shows_in_the_next_page(
    api: Api, owner: OrgClient
) -> None:
    # The bridge, another worker process or replica, an operator's shell: a connection the
    # API process knows nothing about.
    printer = await make_printer(owner, name="before")
    assert (await owner.get(PAGE)).json()["data"][0]["progress"] is None
    hits = _hits(api)
    assert (await owner.get(PAGE)).json()["data"][0]["progress"] is None
    assert _hits(api) == hits + 1  # the page is cached now
    url = api.settings.resolved_database_url
    if is_sqlite(url):
        path = Path(api.settings.data_dir) / "apf.sqlite3"
        with sqlite3.connect(path) as outsider:
            outsider.execute("UPDATE printers SET progress = 42.0 WHERE id = ?", (printer["id"],))
    else:
        outsider = await asyncpg.connect(api.settings.database_url)
        try:
            await outsider.execute(
                "UPDATE printers SET progress = 42.0 WHERE id = $1", printer["id"]
            )
        finally:
            await outsider.close()
    assert (await owner.get(PAGE)).json()["data"][0]["progress"] == 42.0


async def test_another_organization_never_gets_a_cached_page(
    owner: OrgClient, other: OrgClient
) -> None:
    await make_printer(owner, name="mine")
    assert len((await owner.get(PAGE)).json()["data"]) == 1
    theirs = await other.get(PAGE)
    assert theirs.status_code == 200 and theirs.json()["data"] == []


async def test_other_parameters_are_other_pages(owner: OrgClient) -> None:
    await make_printer(owner, name="a", group="left")
    await make_printer(owner, name="b", group="right")
    assert (await owner.get(PAGE)).json()["pagination"]["total"] == 2
    left = (await owner.get(PAGE + "&group=left")).json()
    assert [p["name"] for p in left["data"]] == ["a"]
    sparse = (await owner.get(PAGE + "&fields=id,name")).json()["data"]
    assert all(set(p) == {"id", "name"} for p in sparse)
