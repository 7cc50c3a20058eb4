"""A small typed client for the parts of PrusaLink's HTTP API the driver uses.

Every request authenticates (HTTP Digest with the printer's credentials, or `X-Api-Key`)
and has an explicit timeout. Errors are mapped once, here (prusa/link/conditions.py and
web/lib/auth.py of PrusaLink 0.8.1):
- `PrusaLinkAuthError`: 401 (digest refused) or 403 ("Bad X-Api-Key.");
- `PrusaLinkUnavailable`: connection refused/reset, timeout, an unreadable answer, a 5xx;
  503 also while PrusaLink has no printer yet; `PrusaLinkNoAnswer` when the request was
  sent and its answer did not come in time (it may have been carried out);
- `PrusaLinkConflict`: 409 — "Printer is not in state to print", "not printing", …;
- `PrusaLinkRequestError`: any other 4xx, with PrusaLink's own text.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import msgspec

from agent.config import redact_url

logger = logging.getLogger(__name__)

CREDENTIALS_REFUSED = "PrusaLink refused the credentials"
CHUNK_BYTES = 64 * 1024


class PrusaLinkError(Exception):
    pass


class PrusaLinkAuthError(PrusaLinkError):
    pass


class PrusaLinkUnavailable(PrusaLinkError):
    pass


class PrusaLinkNoAnswer(PrusaLinkUnavailable):
    """Sent, but no answer within the read timeout: whether it happened is unknown."""


class PrusaLinkConflict(PrusaLinkError):
    pass


class PrusaLinkRequestError(PrusaLinkError):
    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class PrusaLinkClient:
    def __init__(
        self,
        base_url: str,
        *,
        username: str | None,
        password: str | None,
        api_key: str | None,
        timeout_s: float = 10.0,
        upload_timeout_s: float = 600.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._upload_timeout_s = upload_timeout_s
        auth: httpx.Auth | None = None
        headers: dict[str, str] = {}
        if api_key:
            headers["X-Api-Key"] = api_key
        elif username and password:
            auth = httpx.DigestAuth(username, password)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            # PrusaLink and the agent share a LAN; a proxy from the environment would only
            # get in the way (and must never see the credentials).
            trust_env=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        timeout_s: float | None = None,
        read_timeout_s: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if timeout_s is not None:
            kwargs["timeout"] = httpx.Timeout(timeout_s)
        elif read_timeout_s is not None:
            kwargs["timeout"] = httpx.Timeout(self._timeout_s, read=read_timeout_s)
        try:
            resp = await self._http.request(method, path, **kwargs)
        except httpx.ReadTimeout as exc:
            raise PrusaLinkNoAnswer(
                f"PrusaLink at {redact_url(self.base_url)} did not answer {method} {path} in time"
            ) from exc
        except httpx.TransportError as exc:
            raise PrusaLinkUnavailable(
                f"PrusaLink unreachable at {redact_url(self.base_url)}: {exc!r}"
            ) from exc
        status = resp.status_code
        if status in (401, 403):
            raise PrusaLinkAuthError(CREDENTIALS_REFUSED)
        if status == 409:
            raise PrusaLinkConflict(error_text(resp))
        if status >= 500:
            raise PrusaLinkUnavailable(
                f"PrusaLink answered HTTP {status} to {method} {path}: {error_text(resp)}"
            )
        if status >= 400:
            raise PrusaLinkRequestError(error_text(resp), status)
        return resp

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        resp = await self._request(method, path, **kwargs)
        if resp.status_code == 204 or not resp.content:
            return {}
        try:
            body = msgspec.json.decode(resp.content)
        except msgspec.DecodeError as exc:
            raise PrusaLinkUnavailable(
                f"unexpected answer from PrusaLink to {path}: {exc}"
            ) from exc
        if not isinstance(body, dict):
            raise PrusaLinkUnavailable(f"unexpected answer from PrusaLink to {path}")
        return body

    # --- endpoints -----------------------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        """`GET /api/version`: PrusaLink's version, the printer's firmware (also the auth check)."""
        return await self._json("GET", "/api/version")

    async def status(self) -> dict[str, Any]:
        """`GET /api/v1/status`: printer state and temperatures, the job, the transfer."""
        return await self._json("GET", "/api/v1/status")

    async def job(self) -> dict[str, Any]:
        """`GET /api/v1/job`: the current job's file and progress; {} when there is none."""
        return await self._json("GET", "/api/v1/job")

    async def storages(self) -> list[dict[str, Any]]:
        body = await self._json("GET", "/api/v1/storage")
        found = body.get("storage_list")
        return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []

    async def file_listed(self, storage: str, name: str) -> bool:
        """Whether PrusaLink's file system lists the file (HEAD answers 200)."""
        try:
            await self._request("HEAD", f"/api/v1/files/{storage}/{quote(name)}")
        except PrusaLinkRequestError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    async def upload(self, storage: str, name: str, local_path: Path, size: int) -> None:
        """`PUT /api/v1/files/{storage}/{name}`, streamed from disk with its length.

        `text/x.gcode`: PrusaLink 0.8.1 runs libmagic on an `application/octet-stream`
        upload and answers 500 where it cannot (field notes; files.py `file_upload`).
        """

        async def chunks() -> AsyncIterator[bytes]:
            # Local disk reads of 64 KiB between sends: short enough to stay in the loop.
            with local_path.open("rb") as fh:
                while chunk := fh.read(CHUNK_BYTES):
                    yield chunk

        # A streamed body cannot be sent twice: an HTTP Digest challenge is answered first
        # with a body-less request, and the upload carries the cached authorization.
        await self.version()

        await self._request(
            "PUT",
            f"/api/v1/files/{storage}/{quote(name)}",
            content=chunks(),
            headers={
                "Content-Type": "text/x.gcode",
                "Content-Length": str(size),
                "Overwrite": "?1",
            },
            timeout_s=self._upload_timeout_s,
        )

    async def start_print(self, storage: str, name: str, *, answer_within_s: float) -> None:
        """`POST /api/v1/files/{storage}/{name}`. PrusaLink answers once the printer took
        the start over serial (web/files.py `file_start_print` waits on its command queue),
        which on a Pi Zero or a busy machine takes seconds: its own, longer read timeout."""
        await self._request(
            "POST", f"/api/v1/files/{storage}/{quote(name)}", read_timeout_s=answer_within_s
        )

    async def delete_file(self, storage: str, name: str) -> None:
        await self._request("DELETE", f"/api/v1/files/{storage}/{quote(name)}")

    async def job_command(self, link_job_id: int, command: str) -> None:
        """`PUT /api/v1/job/{id}/pause|resume`."""
        await self._request("PUT", f"/api/v1/job/{link_job_id}/{command}")

    async def stop_job(self, link_job_id: int) -> None:
        await self._request("DELETE", f"/api/v1/job/{link_job_id}")

    async def home(self) -> None:
        await self._request(
            "POST", "/api/printer/printhead", json={"command": "home", "axes": ["x", "y", "z"]}
        )

    async def heaters_off(self) -> None:
        await self._request(
            "POST", "/api/printer/tool", json={"command": "target", "targets": {"tool0": 0}}
        )
        await self._request("POST", "/api/printer/bed", json={"command": "target", "target": 0})


def error_text(resp: httpx.Response) -> str:
    """PrusaLink's own text from an error answer (conditions.py: title, text, message)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200] or f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        for key in ("text", "message", "title"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    return resp.text[:200]
