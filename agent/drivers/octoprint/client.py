"""A small typed client for the parts of OctoPrint's REST API the driver uses.

Every request carries `X-Api-Key` and an explicit timeout. httpx errors are mapped once,
here, to the few outcomes the driver acts on:
- `OctoPrintAuthError`: 401/403 — OctoPrint does not accept the key (it answers 403 for
  an unknown key on every protected endpoint, also `GET /api/version`);
- `OctoPrintUnavailable`: connection refused/reset, timeout, 5xx — retry later;
- `OctoPrintConflict`: 409 — the printer's state does not allow the request (docs/api:
  "409 Conflict if the printer is not operational / currently printing");
- `OctoPrintRequestError`: any other 4xx.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from agent.config import redact_url
from agent.drivers.octoprint.models import (
    ConnectionResponse,
    FileInfo,
    JobResponse,
    LoginResponse,
    PrinterResponse,
    UploadedFile,
    UploadResponse,
    VersionResponse,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

API_KEY_REJECTED = "OctoPrint rejected the API key"


class OctoPrintError(Exception):
    pass


class OctoPrintAuthError(OctoPrintError):
    pass


class OctoPrintUnavailable(OctoPrintError):
    pass


class OctoPrintConflict(OctoPrintError):
    pass


class OctoPrintRequestError(OctoPrintError):
    pass


class OctoPrintClient:
    """`async with OctoPrintClient(url, key) as client:` owns one httpx connection pool."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 10.0,
        upload_timeout_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._upload_timeout_s = upload_timeout_s
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"X-Api-Key": api_key},
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            # OctoPrint and the agent share a LAN; a proxy from the environment would
            # only get in the way (and must never see the key).
            trust_env=False,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying client, for the push socket (same key, same pool)."""
        return self._http

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    # --- plumbing ------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, timeout_s: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        if timeout_s is not None:
            kwargs["timeout"] = httpx.Timeout(timeout_s)
        try:
            resp = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise OctoPrintUnavailable(
                f"OctoPrint unreachable at {redact_url(self.base_url)}: {exc!r}"
            ) from exc
        # Every request authenticates by key alone. A session cookie kept from an earlier
        # answer would make OctoPrint apply its CSRF double-cookie check to our POSTs
        # (server/util/csrf.py exempts only key-authenticated sessions).
        self._http.cookies.clear()
        if resp.status_code in (401, 403):
            raise OctoPrintAuthError(API_KEY_REJECTED)
        if resp.status_code == 409:
            raise OctoPrintConflict(_error_text(resp))
        if resp.status_code >= 500:
            raise OctoPrintUnavailable(
                f"OctoPrint answered HTTP {resp.status_code} to {method} {path}"
            )
        if resp.status_code >= 400:
            raise OctoPrintRequestError(
                f"OctoPrint refused {method} {path}: HTTP {resp.status_code} {_error_text(resp)}"
            )
        return resp

    async def _get(self, path: str, model: type[T]) -> T:
        resp = await self._request("GET", path)
        return _decode(resp, model)

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self._request("POST", path, json=body)

    # --- endpoints -----------------------------------------------------------------------

    async def version(self) -> VersionResponse:
        return await self._get("/api/version", VersionResponse)

    async def connection(self) -> ConnectionResponse:
        return await self._get("/api/connection", ConnectionResponse)

    async def connect(
        self, port: str | None, baudrate: int | None, printer_profile: str | None
    ) -> None:
        """`POST /api/connection` connect; omitted values fall back to OctoPrint's defaults."""
        body: dict[str, Any] = {"command": "connect"}
        if port is not None:
            body["port"] = port
        if baudrate is not None:
            body["baudrate"] = baudrate
        if printer_profile is not None:
            body["printerProfile"] = printer_profile
        await self._post("/api/connection", body)

    async def job(self) -> JobResponse:
        return await self._get("/api/job", JobResponse)

    async def printer(self) -> PrinterResponse | None:
        """Printer state and temperatures; None while OctoPrint has no printer (HTTP 409)."""
        try:
            return await self._get("/api/printer?history=false", PrinterResponse)
        except OctoPrintConflict:
            return None

    async def passive_login(self) -> LoginResponse:
        """User name and session for the push socket's auth message (docs/api/general.rst)."""
        resp = await self._post("/api/login", {"passive": True})
        return _decode(resp, LoginResponse)

    async def upload(self, local_path: Path, remote_name: str) -> UploadedFile:
        """Upload G-code to OctoPrint's local storage (`POST /api/files/local`, multipart)."""
        with local_path.open("rb") as fh:
            resp = await self._request(
                "POST",
                "/api/files/local",
                files={"file": (remote_name, fh, "application/octet-stream")},
                timeout_s=self._upload_timeout_s,
            )
        return _decode(resp, UploadResponse).files.local

    async def select_and_print(self, path: str) -> None:
        await self._post(f"/api/files/local/{quote(path)}", {"command": "select", "print": True})

    async def file_info(self, path: str) -> FileInfo | None:
        try:
            return await self._get(f"/api/files/local/{quote(path)}", FileInfo)
        except OctoPrintRequestError:
            # 404: the file is gone (deleted in OctoPrint's UI).
            return None

    async def delete_file(self, path: str) -> None:
        await self._request("DELETE", f"/api/files/local/{quote(path)}")

    async def job_command(self, command: str, action: str | None = None) -> None:
        body: dict[str, Any] = {"command": command}
        if action is not None:
            body["action"] = action
        await self._post("/api/job", body)

    async def home(self, axes: list[str]) -> None:
        await self._post("/api/printer/printhead", {"command": "home", "axes": axes})

    async def set_targets(self, targets_c: dict[str, float]) -> None:
        """Set heater targets by OctoPrint name: tool0…, bed, chamber."""
        tools = {name: t for name, t in targets_c.items() if name.startswith("tool")}
        if tools:
            await self._post("/api/printer/tool", {"command": "target", "targets": tools})
        if "bed" in targets_c:
            await self._post("/api/printer/bed", {"command": "target", "target": targets_c["bed"]})
        if "chamber" in targets_c:
            await self._post(
                "/api/printer/chamber", {"command": "target", "target": targets_c["chamber"]}
            )

    async def send_commands(self, lines: list[str]) -> None:
        await self._post("/api/printer/command", {"commands": lines})


def _decode(resp: httpx.Response, model: type[T]) -> T:
    try:
        return msgspec.json.decode(resp.content, type=model)
    except msgspec.DecodeError as exc:
        raise OctoPrintUnavailable(
            f"unexpected answer from OctoPrint to {resp.request.url.path}: {exc}"
        ) from exc


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return resp.text[:200]
