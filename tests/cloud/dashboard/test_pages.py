"""The dashboard's pages and files: one shell for every page path, strict headers, every
asset served from this origin, nothing fetched from elsewhere, off with the setting."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import msgspec
import pytest

from cloud.app import build_context, create_app
from cloud.dashboard.pages import (
    CONTENT_SECURITY_POLICY,
    PAGE_PATHS,
    STATIC_DIR,
    STATIC_PATH,
    etag_matches,
)
from cloud.settings import Settings
from tests.cloud.conftest import SQLITE_ONLY, Api

# The tests with an app run on SQLite only (SQLITE_ONLY): the pages touch no database.

INDEX = (STATIC_DIR / "index.html").read_bytes()
PAGES = [p.replace("{printer_id:str}", "prt_x") for p in PAGE_PATHS]
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}

# What index.html and the modules load: tags' src/href, and static and dynamic imports.
_HTML_REF = re.compile(rb"""<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)\"""")
_JS_IMPORT = re.compile(rb"""(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']""")
# An address on another origin: any http(s)/ws(s) URL, or a protocol-relative `//host.tld`.
SVG_NAMESPACE = b'"http://www.w3.org/2000/svg"'
_EXTERNAL = re.compile(rb"\b(?:https?|wss?)://|//[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)


def _static_files() -> list[Path]:
    return sorted(p for p in STATIC_DIR.rglob("*") if p.is_file())


def _referenced_assets() -> set[str]:
    """Every URL the shell loads, following the modules' imports."""
    found: set[str] = set()
    todo = [m.decode() for m in _HTML_REF.findall(INDEX) if not m.startswith(b"data:")]
    while todo:
        url = todo.pop()
        if url in found:
            continue
        found.add(url)
        assert url.startswith(STATIC_PATH + "/"), url
        if url.endswith(".js"):
            body = (STATIC_DIR / url.removeprefix(STATIC_PATH + "/")).read_bytes()
            base = url.rsplit("/", 1)[0]
            for target in _JS_IMPORT.findall(body):
                assert target.startswith(b"./"), f"{url} imports {target!r}"
                todo.append(f"{base}/{target.decode().removeprefix('./')}")
    return found


def _assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@SQLITE_ONLY
@pytest.mark.parametrize("path", PAGES)
async def test_every_page_path_serves_the_shell(api: Api, path: str) -> None:
    r = await api.client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.content == INDEX
    _assert_security_headers(r)
    assert r.headers["cache-control"] == "no-cache"


@SQLITE_ONLY
async def test_csp_allows_nothing_but_this_origin(api: Api) -> None:
    policy = (await api.client.get("/farm")).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    for name in ("default-src", "style-src", "script-src", "connect-src"):
        assert directives[name] == "'self'", name
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe" not in policy


@SQLITE_ONLY
async def test_every_asset_the_shell_loads_is_served(api: Api) -> None:
    assets = _referenced_assets()
    assert {f"{STATIC_PATH}/app.js", f"{STATIC_PATH}/style.css", f"{STATIC_PATH}/farm.js"} <= assets
    for url in sorted(assets):
        r = await api.client.get(url)
        assert r.status_code == 200, url
        expected = CONTENT_TYPES[Path(url).suffix]
        assert r.headers["content-type"].startswith(expected), (url, r.headers["content-type"])
        _assert_security_headers(r)
        assert r.headers["cache-control"] == "no-cache"


def test_pages_the_router_loads_exist() -> None:
    """app.js's route table names its page modules by dynamic import."""
    app_js = (STATIC_DIR / "app.js").read_bytes()
    modules = {m.decode() for m in re.findall(rb"""import\("\./([^"]+)"\)""", app_js)}
    assert {"farm.js", "signin.js", "placeholder.js"} <= modules
    for name in modules:
        assert (STATIC_DIR / name).is_file(), name


@SQLITE_ONLY
async def test_static_files_revalidate_with_an_etag(api: Api) -> None:
    for url in (f"{STATIC_PATH}/app.js", "/farm"):
        first = await api.client.get(url)
        etag = first.headers["etag"]
        again = await api.client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = await api.client.get(url, headers={"If-None-Match": '"stale"'})
        assert other.status_code == 200
        assert other.content == first.content


def test_etag_comparison() -> None:
    assert etag_matches('"a"', '"a"')
    assert etag_matches('W/"a"', '"a"')
    assert etag_matches('"b", "a"', '"a"')
    assert etag_matches("*", '"a"')
    assert not etag_matches('"b"', '"a"')
    assert not etag_matches(None, '"a"')


@SQLITE_ONLY
async def test_no_file_leaves_the_static_directory(api: Api) -> None:
    for url in (
        f"{STATIC_PATH}/..%2Fpages.py",
        f"{STATIC_PATH}/%2E%2E/pages.py",
        f"{STATIC_PATH}/missing.js",
    ):
        r = await api.client.get(url)
        assert r.status_code == 404, url


def test_no_file_refers_to_another_origin() -> None:
    """No CDN, no web font, no analytics: the dashboard works with no network but this one.
    The one URL-shaped text allowed is the SVG namespace, a name the browser never fetches,
    written once (dom.js)."""
    for path in _static_files():
        text = path.read_bytes()
        if path.name == "dom.js":
            text = text.replace(SVG_NAMESPACE, b"", 1)
        hits = _EXTERNAL.findall(text)
        assert not hits, f"{path.name} refers to {hits}"


@SQLITE_ONLY
async def test_the_shell_is_not_in_the_api_schema(api: Api) -> None:
    paths = (await api.client.get("/docs/openapi.json")).json()["paths"]
    assert not [p for p in paths if p in PAGES or p.startswith(STATIC_PATH)]
    assert "/" not in paths


@SQLITE_ONLY
async def test_no_served_file_holds_an_api_key(api: Api) -> None:
    org = await api.new_org("keyguard")
    bodies = [(await api.client.get(page)).content for page in PAGES]
    for path in _static_files():
        r = await api.client.get(f"{STATIC_PATH}/{path.relative_to(STATIC_DIR).as_posix()}")
        assert r.status_code == 200, path
        bodies.append(r.content)
    for body in bodies:
        assert org.api_key.encode() not in body
        assert b"apf_" + org.api_key.encode()[4:12] not in body


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            yield c
    finally:
        await ctx.engine.dispose()


@SQLITE_ONLY
async def test_off_with_the_setting(settings: Settings) -> None:
    off = msgspec.structs.replace(settings, dashboard_enabled=False)
    async with _client(off) as client:
        for url in ("/", "/farm", f"{STATIC_PATH}/app.js", "/dashboard/api/session"):
            r = await client.get(url)
            assert r.status_code == 404, url
        live = await client.get("/dashboard/api/live", headers={"Authorization": "Bearer x"})
        assert live.status_code == 404
        assert (await client.get("/healthz")).status_code == 200
