"""Creating, rotating and revoking the broker logins the cloud manages (`broker_logins`).

These functions change the database only and raise the row's ``revision``; the provisioner
(cloud/mqttauth/provisioner.py) makes the broker follow. `apply_now` asks it to do that
before the request answers, so a registered agent can connect and a revoked one is off the
broker when the response arrives; if the broker is out of reach the change is applied when
it is back, and `apply_now` says it was not applied yet.
"""

from __future__ import annotations

from cloud.auth.keys import new_secret
from cloud.context import CloudContext
from cloud.db.types import utcnow
from cloud.mqttauth.tables import BrokerLogin, password_purpose
from cloud.sealing import SecretBox
from cloud.settings import Settings

# How long a request waits for the broker to follow: revocation promises a disconnect
# within 5 s (docs/security.md).
APPLY_TIMEOUT_S = 4.0
# 32 characters of a 62-letter alphabet: about 190 bits, beyond any online guessing.
PASSWORD_LENGTH = 32


def new_login(
    box: SecretBox,
    *,
    username: str,
    org_id: str,
    kind: str,
    name: str,
    agent_id: str | None = None,
) -> tuple[BrokerLogin, str]:
    password = new_secret(prefix="", length=PASSWORD_LENGTH)
    login = BrokerLogin(
        id=username,
        org_id=org_id,
        kind=kind,
        agent_id=agent_id,
        name=name,
        password_sealed=box.seal(password, password_purpose(username)),
    )
    return login, password


def rotate(login: BrokerLogin, box: SecretBox) -> str:
    password = new_secret(prefix="", length=PASSWORD_LENGTH)
    login.password_sealed = box.seal(password, password_purpose(login.username))
    login.revision += 1
    return password


def revoke(login: BrokerLogin) -> bool:
    """Mark revoked; False when it already was (nothing changes, nothing to apply)."""
    if login.revoked_at is not None:
        return False
    login.revoked_at = utcnow()
    login.revision += 1
    return True


async def apply_now(app: CloudContext) -> bool:
    """True when the broker has every pending change; False where this process runs no
    provisioning bridge (cloud.bridge.lifespan wires ``broker_sync`` to one that does)."""
    return await app.broker_sync(APPLY_TIMEOUT_S)


def broker_url(settings: Settings) -> str:
    """The broker address handed to agents and dashboards: reachable from the shop LAN."""
    scheme = "mqtts" if settings.mqtt_tls else "mqtt"
    return f"{scheme}://{settings.mqtt_host}:{settings.mqtt_port}"
