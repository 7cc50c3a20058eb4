"""The dashboard's pages and files: one HTML shell for every page path, and its static files.

Every page path answers the same `index.html`; the page's own script reads the path and
draws that page (client-side routing with the History API), so each page has a URL of its
own that can be bookmarked or reloaded. The shell holds no data: the script fetches it from
`/v1` with the session cookie, so these handlers are public (no `scope` in `opt`).

Caching: file names carry no content hash (there is no build step to add one), so nothing
may be cached without asking: `Cache-Control: no-cache` everywhere, with a content-hash
`ETag`, and a matching `If-None-Match` is answered `304` with no body (Litestar's file
responses send an ETag but never answer 304 themselves).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.response.file import ASGIFileResponse
from litestar.static_files import create_static_files_router

__all__ = ["PAGE_PATHS", "STATIC_DIR", "STATIC_PATH", "dashboard_handlers"]

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/dashboard/static"
INDEX = "index.html"

# Paths the browser may load directly; app.js's route table draws a page for each.
PAGE_PATHS: tuple[str, ...] = (
    "/",
    "/farm",
    "/printers/{printer_id:str}",
    "/queue",
    "/materials",
    "/webhooks",
    "/analytics",
    "/settings",
    "/sign-in",
    "/join",
)

# Nothing but this origin: no CDN, no inline script or style, not framed by another site.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True, slots=True)
class _Version:
    mtime_ns: int
    size: int
    etag: str
    body: bytes


class StaticTags:
    """Content-hash ETags of the static files, read again only when a file's size or
    modification time changes (so an edited file is served at once, without a restart)."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._versions: dict[Path, _Version] = {}

    def resolve(self, path: str | Path) -> Path | None:
        """The file under the root (`path` relative to it, or absolute), or None: missing, a
        directory, or outside the root."""
        relative = str(path).lstrip("/") if not isinstance(path, Path) else path
        found = (self._root / relative).resolve()
        if not found.is_relative_to(self._root) or not found.is_file():
            return None
        return found

    def version(self, path: Path) -> _Version:
        # On the event loop: one stat of a local file per request, and a read of a few KB
        # only when the file changed.
        stat = path.stat()
        known = self._versions.get(path)
        if known is not None and (known.mtime_ns, known.size) == (stat.st_mtime_ns, stat.st_size):
            return known
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        # Bounded by the number of files in the directory: keys are resolved paths in it.
        version = self._versions[path] = _Version(stat.st_mtime_ns, stat.st_size, etag, body)
        return version

    def etag_of(self, path: str | Path) -> str | None:
        found = self.resolve(path)
        return None if found is None else self.version(found).etag


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


def _not_modified(etag: str) -> Response[None]:
    return Response(
        None,
        status_code=304,
        headers={"ETag": etag, "Cache-Control": CACHE_CONTROL, **SECURITY_HEADERS},
    )


def dashboard_handlers(static_dir: Path = STATIC_DIR) -> list[Any]:
    """The route handlers to register: the page paths and the static files router."""
    tags = StaticTags(static_dir)
    index = tags.resolve(INDEX)
    if index is None:
        raise FileNotFoundError(f"the dashboard's {INDEX} is missing from {static_dir}")
    index_path = index

    @get(list(PAGE_PATHS), include_in_schema=False, name="dashboard-page", sync_to_thread=False)
    def serve_page(request: Request[Any, Any, Any]) -> Response[Any]:
        """The page shell; the script draws the page the path names."""
        version = tags.version(index_path)
        if etag_matches(request.headers.get("if-none-match"), version.etag):
            return _not_modified(version.etag)
        return Response(
            version.body,
            media_type=MediaType.HTML,
            headers={"ETag": version.etag, "Cache-Control": CACHE_CONTROL, **SECURITY_HEADERS},
        )

    def revalidate(request: Request[Any, Any, Any]) -> Response[None] | None:
        file_path = request.path_params.get("file_path")
        etag = tags.etag_of(str(file_path)) if file_path is not None else None
        if etag is not None and etag_matches(request.headers.get("if-none-match"), etag):
            return _not_modified(etag)
        return None

    def add_headers(response: Response[Any]) -> Response[Any]:
        if isinstance(response, ASGIFileResponse):
            etag = tags.etag_of(Path(response.file_path))
            if etag is not None:
                # Set before the response starts: Litestar only adds its own ETag if none is.
                response.headers["ETag"] = etag
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response

    static = create_static_files_router(
        STATIC_PATH,
        [static_dir],
        name="dashboard-static",
        include_in_schema=False,
        before_request=revalidate,
        after_request=add_headers,
    )
    return [serve_page, static]
