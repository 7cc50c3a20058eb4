"""A small typed client for the parts of Moonraker's HTTP API the driver uses.

Every request carries `X-Api-Key` (when one is configured) and an explicit timeout.
Moonraker answers `{"result": …}`, or `{"error": {"code": …, "message": …}}` with the HTTP
status of the error (moonraker/components/application.py); the upload alone answers 201
with an unwrapped body. httpx errors are mapped once, here, to the outcomes the driver
acts on:
- `MoonrakerAuthError`: 401 — Moonraker does not accept the key (or wants one);
- `MoonrakerUnavailable`: connection refused/reset, timeout, an unreadable answer, a 5xx
  other than 503 (`MoonrakerServerError`, with Moonraker's reason) — retry later;
- `KlippyNotReady`: 503 — Moonraker is up but Klippy is not connected ("Klippy Host not
  connected", klippy_connection.py);
- `MoonrakerRequestError`: any other 4xx, with Moonraker's own message.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import msgspec

from agent.config import redact_url

logger = logging.getLogger(__name__)

API_KEY_REFUSED = "Moonraker refused the API key"


class MoonrakerError(Exception):
    pass


class MoonrakerAuthError(MoonrakerError):
    pass


class MoonrakerUnavailable(MoonrakerError):
    pass


class MoonrakerServerError(MoonrakerUnavailable):
    """A 5xx with Moonraker's own reason ("Unable to save file" when the disk is full)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class KlippyNotReady(MoonrakerError):
    pass


class MoonrakerRequestError(MoonrakerError):
    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class MoonrakerClient:
    """`async with MoonrakerClient(url, key) as client:` owns one httpx connection pool."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float = 10.0,
        upload_timeout_s: float = 600.0,
        gcode_timeout_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._upload_timeout_s = upload_timeout_s
        self._gcode_timeout_s = gcode_timeout_s
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"X-Api-Key": api_key} if api_key else {},
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            # Moonraker and the agent share a LAN; a proxy from the environment would only
            # get in the way (and must never see the key).
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

    # --- plumbing ------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, timeout_s: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        if timeout_s is not None:
            kwargs["timeout"] = httpx.Timeout(timeout_s)
        try:
            resp = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise MoonrakerUnavailable(
                f"Moonraker unreachable at {redact_url(self.base_url)}: {exc!r}"
            ) from exc
        status = resp.status_code
        if status == 401:
            raise MoonrakerAuthError(API_KEY_REFUSED)
        if status == 503:
            raise KlippyNotReady(error_text(resp))
        if status >= 500:
            reason = error_text(resp)
            raise MoonrakerServerError(
                f"Moonraker answered HTTP {status} to {method} {path}: {reason}", reason
            )
        if status >= 400:
            raise MoonrakerRequestError(error_text(resp), status)
        return resp

    async def _result(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = await self._request(method, path, **kwargs)
        try:
            body = msgspec.json.decode(resp.content)
        except msgspec.DecodeError as exc:
            raise MoonrakerUnavailable(
                f"unexpected answer from Moonraker to {method} {path}: {exc}"
            ) from exc
        if isinstance(body, dict) and "result" in body:
            return body["result"]
        return body

    # --- endpoints -----------------------------------------------------------------------

    async def server_info(self) -> dict[str, Any]:
        """`GET /server/info`: klippy_state, moonraker_version, … (also the key check)."""
        return _mapping(await self._result("GET", "/server/info"), "/server/info")

    async def printer_info(self) -> dict[str, Any]:
        """`GET /printer/info`: Klipper's software_version, state and state_message."""
        return _mapping(await self._result("GET", "/printer/info"), "/printer/info")

    async def object_names(self) -> list[str]:
        result = _mapping(await self._result("GET", "/printer/objects/list"), "objects/list")
        objects = result.get("objects")
        return (
            [name for name in objects if isinstance(name, str)] if isinstance(objects, list) else []
        )

    async def query(self, objects: dict[str, list[str] | None]) -> dict[str, Any]:
        """`POST /printer/objects/query`: the named objects' status (all fields for None)."""
        result = _mapping(
            await self._result("POST", "/printer/objects/query", json={"objects": objects}),
            "objects/query",
        )
        status = result.get("status")
        return status if isinstance(status, dict) else {}

    async def file_metadata(self, filename: str) -> dict[str, Any] | None:
        """Moonraker's metadata of a file under `gcodes`; None when there is no such file."""
        try:
            result = await self._result(
                "GET", "/server/files/metadata", params={"filename": filename}
            )
        except MoonrakerRequestError as exc:
            if exc.status_code == 404:
                return None
            raise
        return result if isinstance(result, dict) else None

    async def upload(self, local_path: Path, remote_name: str, sha256: str) -> dict[str, Any]:
        """`POST /server/files/upload` (multipart), streamed from disk.

        `checksum` makes Moonraker verify the sha256 of what it received (HTTP 422 on a
        mismatch) before the file replaces anything under `gcodes`.
        """
        with local_path.open("rb") as fh:
            result = await self._result(
                "POST",
                "/server/files/upload",
                data={"root": "gcodes", "checksum": sha256},
                files={"file": (remote_name, fh, "application/octet-stream")},
                timeout_s=self._upload_timeout_s,
            )
        return _mapping(result, "/server/files/upload")

    async def max_upload_bytes(self) -> int | None:
        """Moonraker's `[server] max_upload_size` (MiB in moonraker.conf), when it says.

        A larger upload is not answered with an error: the server closes the connection
        mid-body (tornado's max_body_size), so the driver checks the size first.
        """
        try:
            result = await self._result("GET", "/server/config")
        except MoonrakerRequestError:
            return None
        config = result.get("config") if isinstance(result, dict) else None
        server = config.get("server") if isinstance(config, dict) else None
        mib = server.get("max_upload_size") if isinstance(server, dict) else None
        return int(mib) * 1024 * 1024 if isinstance(mib, int) and mib > 0 else None

    async def free_bytes(self) -> int | None:
        """Free space on the disk of Moonraker's `gcodes` root, when it says."""
        try:
            result = await self._result(
                "GET", "/server/files/directory", params={"path": "gcodes", "extended": "false"}
            )
        except MoonrakerRequestError:
            return None
        usage = result.get("disk_usage") if isinstance(result, dict) else None
        free = usage.get("free") if isinstance(usage, dict) else None
        return free if isinstance(free, int) and not isinstance(free, bool) else None

    async def list_files(self) -> list[dict[str, Any]]:
        result = await self._result("GET", "/server/files/list", params={"root": "gcodes"})
        return (
            [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []
        )

    async def delete_file(self, filename: str) -> None:
        await self._request("DELETE", f"/server/files/gcodes/{quote(filename)}")

    async def start_print(self, filename: str) -> None:
        await self._request("POST", "/printer/print/start", params={"filename": filename})

    async def print_command(self, command: str) -> None:
        """`POST /printer/print/pause|resume|cancel`."""
        await self._request("POST", f"/printer/print/{command}")

    async def gcode_script(self, script: str) -> None:
        """Run G-code; returns once Klipper has run it (HTTP 400 with Klipper's error)."""
        await self._request(
            "POST",
            "/printer/gcode/script",
            json={"script": script},
            timeout_s=self._gcode_timeout_s,
        )

    async def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest jobs of Moonraker's print history, newest first."""
        result = _mapping(
            await self._result(
                "GET", "/server/history/list", params={"limit": limit, "order": "desc"}
            ),
            "/server/history/list",
        )
        jobs = result.get("jobs")
        return [job for job in jobs if isinstance(job, dict)] if isinstance(jobs, list) else []


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MoonrakerUnavailable(f"unexpected answer from Moonraker to {what}: {value!r:.200}")
    return value


def error_text(resp: httpx.Response) -> str:
    """Moonraker's own message from an error answer, else the start of the body."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200] or f"HTTP {resp.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return resp.text[:200]
