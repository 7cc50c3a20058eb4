"""Operator actions outside the API: create an organization with its owner and first key,
and further keys for the owner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.keys import ALL_SCOPES, PREFIX_SHOWN, hash_secret, new_secret
from cloud.db.models import ApiKey, Organization, User
from cloud.ids import IdPrefix, new_id
from cloud.services.quotas import PLANS


@dataclass(frozen=True, slots=True)
class CreatedOrg:
    org_id: str
    user_id: str
    key_id: str
    api_key: str  # shown once; only its hash is stored


def new_api_key(
    org_id: str, *, scopes: list[str], user_id: str | None, name: str
) -> tuple[ApiKey, str]:
    secret = new_secret()
    row = ApiKey(
        id=new_id(IdPrefix.API_KEY),
        org_id=org_id,
        user_id=user_id,
        name=name,
        prefix=secret[:PREFIX_SHOWN],
        key_hash=hash_secret(secret),
        scopes=scopes,
    )
    return row, secret


async def create_org(
    session: AsyncSession, name: str, *, owner_email: str, plan: str = "free"
) -> CreatedOrg:
    if plan not in PLANS:
        raise ValueError(f"unknown plan '{plan}' (plans: {', '.join(PLANS)})")
    if not name.strip():
        raise ValueError("the organization needs a name")
    org = Organization(id=new_id(IdPrefix.ORGANIZATION), name=name.strip(), plan=plan)
    owner = User(
        id=new_id(IdPrefix.USER), org_id=org.id, email=owner_email, name="Owner", role="owner"
    )
    key, secret = new_api_key(org.id, scopes=list(ALL_SCOPES), user_id=owner.id, name="first key")
    session.add(org)
    await session.flush()
    session.add(owner)
    await session.flush()
    session.add(key)
    await session.commit()
    return CreatedOrg(org_id=org.id, user_id=owner.id, key_id=key.id, api_key=secret)


async def add_api_key(
    session: AsyncSession, created: CreatedOrg, *, name: str, scopes: list[str]
) -> str:
    """Another key of the organization's owner; returns its secret (shown once). Each key has
    its own rate-limit budget (the limiter counts per key)."""
    key, secret = new_api_key(created.org_id, scopes=scopes, user_id=created.user_id, name=name)
    session.add(key)
    await session.commit()
    return secret
