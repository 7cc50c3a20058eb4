"""Importing the SDK pulls in nothing of the system, in the development install too (the
SDK's own wheel is checked in tests/packaging)."""

from __future__ import annotations

import json
import subprocess
import sys

# Top-level modules of the cloud, agent and broker extras, and our server-side packages.
FORBIDDEN = (
    "shared",
    "cloud",
    "agent",
    "apf",
    "litestar",
    "sqlmodel",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "apscheduler",
    "aiomqtt",
    "paho",
    "serial",
    "uvicorn",
    "cryptography",
)


def test_importing_the_sdk_loads_no_server_side_module() -> None:
    code = (
        "import sys, json, autoprintfarm\n"
        "from autoprintfarm import Client, AsyncClient, webhooks\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert {"autoprintfarm", "httpx", "msgspec"} <= loaded
    assert loaded.isdisjoint(FORBIDDEN), loaded & set(FORBIDDEN)
