"""`apf agent scan`, Moonraker part: is there a Klipper printer's Moonraker to drive?

A Pi that runs Klipper usually runs Moonraker beside it on port 7125 (the port Moonraker's
own installer configures), so the scan asks `GET /server/info` there, and at any other
URL given. A 401 still means Moonraker is there: it wants an API key (or the agent's
address in `trusted_clients`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import httpx

LOCAL_MOONRAKER = "http://127.0.0.1:7125"


@dataclass(frozen=True, slots=True)
class MoonrakerFound:
    url: str
    moonraker_version: str | None
    klippy_state: str | None
    klipper_version: str | None
    needs_api_key: bool
    error: str | None

    def as_dict(self) -> dict[str, object]:
        return {"kind": "moonraker", **asdict(self)}


def probe_moonraker(url: str, timeout_s: float) -> MoonrakerFound | None:
    """What answers at url; None when nothing does (no Moonraker there)."""
    base = url.rstrip("/")
    try:
        with httpx.Client(base_url=base, timeout=timeout_s, trust_env=False) as http:
            info = http.get("/server/info")
            if info.status_code == 401:
                return MoonrakerFound(base, None, None, None, True, None)
            info.raise_for_status()
            result = info.json().get("result", {})
            klipper = None
            if result.get("klippy_state") == "ready":
                printer = http.get("/printer/info")
                if printer.status_code == 200:
                    klipper = printer.json().get("result", {}).get("software_version")
    except httpx.TransportError:
        return None
    except (httpx.HTTPStatusError, ValueError, AttributeError) as exc:
        return MoonrakerFound(base, None, None, None, False, f"not Moonraker's answer: {exc}")
    return MoonrakerFound(
        url=base,
        moonraker_version=_text(result.get("moonraker_version")),
        klippy_state=_text(result.get("klippy_state")),
        klipper_version=_text(klipper),
        needs_api_key=False,
        error=None,
    )


def find_moonrakers(urls: list[str], timeout_s: float) -> list[MoonrakerFound]:
    wanted = list(dict.fromkeys([LOCAL_MOONRAKER, *urls]))
    with ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
        return [f for f in pool.map(lambda u: probe_moonraker(u, timeout_s), wanted) if f]


def moonraker_snippet(found: list[MoonrakerFound], first_index: int) -> str:
    blocks = []
    for index, f in enumerate((f for f in found if not f.error), start=first_index):
        key = ', api_key = "…"' if f.needs_api_key else ""
        blocks.append(
            "[[printers]]\n"
            f'printer_id = "prt_{index}"  # the id the cloud gave this printer\n'
            'name = "Klipper"\n'
            f'connection = {{ kind = "moonraker", url = "{f.url}"{key} }}\n'
        )
    return "\n".join(blocks)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
