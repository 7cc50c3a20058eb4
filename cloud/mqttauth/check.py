"""Can the cloud administer this broker? The question, asked over the control topic, with
an answer an operator can act on (`apf cloud check-broker` prints it; the bridge logs it)."""

from __future__ import annotations

from cloud.mqttauth.control import BrokerAdminError, DynsecControl


async def admin_roles(control: DynsecControl, username: str | None) -> list[str]:
    """The roles of the cloud's own login; `BrokerAdminError` saying what is wrong."""
    if not username:
        raise BrokerAdminError(
            "mqtt_url has no user name: the cloud must log in as a user allowed to "
            "administer the broker (docs/deploy.md)"
        )
    try:
        answer = await control.one({"command": "getClient", "username": username})
    except BrokerAdminError as exc:
        raise BrokerAdminError(
            f"{exc}. Load the dynamic-security plugin (mosquitto_dynamic_security.so) or "
            f"use the embedded broker, and give user {username!r} the right to publish to "
            "$CONTROL/dynamic-security/# (`mosquitto_ctrl dynsec init` and `apf broker init` "
            "make such a user)"
        ) from None
    if not answer.ok:
        raise BrokerAdminError(
            f"the broker does not know user {username!r} as a dynamic-security client "
            f"({answer.error}); log in as the user `mosquitto_ctrl dynsec init` or "
            "`apf broker init` made"
        )
    roles = answer.data.get("client", {}).get("roles", [])
    return [str(r.get("rolename")) for r in roles if isinstance(r, dict)]
