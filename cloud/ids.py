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
    DASHBOARD_SESSION = "dss"


def new_id(prefix: IdPrefix) -> str:
    # One draw of 100 random bits, 5 per character: a choice per character was a system
    # call each, ~5 % of the CPU of POST /v1/jobs under load (py-spy, bench/api.py).
    bits = secrets.randbits(_RANDOM_LEN * 5)
    chars = []
    for _ in range(_RANDOM_LEN):
        chars.append(_ALPHABET[bits & 31])
        bits >>= 5
    return f"{prefix}_" + "".join(chars)


def has_prefix(value: str, prefix: IdPrefix) -> bool:
    return value.startswith(f"{prefix}_")
