"""The `idempotency_keys` table: one row per (organization, key).

The primary key is the unique constraint that makes a claim safe across processes and
replicas: of two inserts of the same key, the database lets one through. A row without a
`status_code` is a request still in flight; `expires_at` is when the key may be used anew.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from cloud.db.types import UTCDateTime

idempotency_keys = sa.Table(
    "idempotency_keys",
    # On SQLModel's metadata so the cloud's Alembic migrations (which target it) see it.
    SQLModel.metadata,
    sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("status_code", sa.Integer(), nullable=True),
    sa.Column("content_type", sa.String(200), nullable=True),
    # The first request's id: a replay answers under it, as the same request answered again.
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("body", sa.LargeBinary(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
)
