"""Plan limits per organization; crossing one is `quota_exceeded`."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.problems import Problem
from shared.enums import ErrorCode

_GIB = 1024**3


@dataclass(frozen=True, slots=True)
class Plan:
    printers: int | None
    agents: int | None
    users: int | None
    storage_bytes: int | None
    active_jobs: int | None
    # Read-only MQTT credentials for dashboards (each is a login on the broker).
    dashboards: int | None = None


# None = unlimited. "free" fits a small farm; "enterprise" is for self-hosted installs.
PLANS: dict[str, Plan] = {
    "free": Plan(
        printers=10, agents=3, users=5, storage_bytes=5 * _GIB, active_jobs=500, dashboards=5
    ),
    "pro": Plan(
        printers=200,
        agents=50,
        users=50,
        storage_bytes=200 * _GIB,
        active_jobs=20_000,
        dashboards=100,
    ),
    "enterprise": Plan(
        printers=None, agents=None, users=None, storage_bytes=None, active_jobs=None
    ),
}


def plan_for(name: str) -> Plan:
    return PLANS.get(name, PLANS["free"])


def check(used: int, adding: int, limit: int | None, what: str, plan: str) -> None:
    if limit is not None and used + adding > limit:
        raise Problem(
            ErrorCode.QUOTA_EXCEEDED,
            f"The '{plan}' plan allows {limit} {what}; this organization has {used}.",
        )
