"""The embedded broker inside another program's event loop (the demo, a one-box cloud).

Its administrator is made on the spot, with a password kept in the broker's data
directory (mode 0600), so the cloud in the same process can log in and provision agents
and dashboards; nobody else gets in without a login the cloud made.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from cloud.broker.server import Broker, BrokerSettings, Listener
from cloud.mqttauth.roles import cloud_role, stored_role

ADMIN_USER = "apf-admin"
_PASSWORD_FILE = "admin.password"


def admin_password(data_dir: Path) -> str:
    """The administrator's password, made once and kept in the data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / _PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


@contextlib.asynccontextmanager
async def embedded_broker(
    data_dir: Path, host: str = "127.0.0.1", port: int = 1883
) -> AsyncIterator[str]:
    """Serve until the block ends; yields the administrator's ``mqtt://user:pw@host:port``."""
    password = admin_password(data_dir)
    broker = Broker(BrokerSettings(listeners=(Listener(host, port),), data_dir=data_dir))
    broker.security.ensure_admin(ADMIN_USER, password, [stored_role(cloud_role())])
    async with broker:
        yield f"mqtt://{ADMIN_USER}:{quote(password, safe='')}@{host}:{broker.ports[0]}"
