"""Resource ids: a type prefix and 20 random base-32 characters (`prt_…`, `job_…`).

The prefix tells a reader (and the API's 404 path) what kind of resource an id names; the
random part (100 bits) makes ids unguessable across organizations.
"""

from __future__ import annotations

import secrets
from enum import StrEnum

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base 32, lower case
_RANDOM_LEN = 20


class IdPrefix(StrEnum):
    ORGANIZATION = "org"
    USER = "usr"
    API_KEY = "key"
    AGENT = "agt"
    PRINTER = "prt"
    JOB = "job"
    MATERIAL = "mat"
    WEBHOOK = "whk"
    INVITATION = "inv"
    COMMAND = "cmd"
    PRINT = "prn"
    EVENT = "evt"
    FILE = "fil"
    MQTT_CREDENTIAL = "mqc"


def new_id(prefix: IdPrefix) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LEN))


def has_prefix(value: str, prefix: IdPrefix) -> bool:
    return value.startswith(f"{prefix}_")
