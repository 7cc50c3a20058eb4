"""Broker connection failures, said in words an operator can act on.

paho and aiomqtt report a refused login as ``[code:135] Not authorized`` (MQTT 5 reason
code) or a CONNACK return code 4/5 (MQTT 3.1.1), and a certificate the client does not trust
as ``[SSL: CERTIFICATE_VERIFY_FAILED] …``. Both sides of the system (agent and cloud) log
what `explain` makes of them, so the fix is named where the problem shows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Explained:
    message: str
    # True when retrying cannot help until someone changes a setting or a login.
    needs_operator: bool


_REFUSED = ("[code:135]", "[code:134]", "Not authorized", "not authorised", "Bad user name")


def explain(error: str, *, broker: str, username: str | None, ca_setting: str) -> Explained:
    """``error`` is the text of the exception; ``ca_setting`` names where a CA file is set."""
    if "CERTIFICATE_VERIFY_FAILED" in error:
        if "Hostname mismatch" in error or "doesn't match" in error:
            return Explained(
                f"the TLS certificate of {broker} is not for that host name ({error}); "
                "connect with the name the certificate was made for",
                True,
            )
        return Explained(
            f"the TLS certificate of {broker} is not trusted ({error}); set {ca_setting} to "
            "the CA certificate that signed it",
            True,
        )
    if any(marker in error for marker in _REFUSED):
        who = f"user {username!r}" if username else "a login without a user name"
        return Explained(
            f"{broker} refused {who}: a wrong user name or password, a revoked or rotated "
            "login, or too many failed logins from this address",
            True,
        )
    return Explained(error, False)
