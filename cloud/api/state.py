"""What the API holds for the app's lifetime: the cloud's context (cloud/context.py) and the
parts only request handling needs. Built by `create_app` and kept in `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.api.page_cache import PageCache
from cloud.context import CloudContext
from cloud.db.pg_snapshot import SnapshotVersion
from cloud.db.reader import SqliteReader
from cloud.ratelimit import RateLimiter
from cloud.services.auth import KeyResolver


@dataclass(slots=True, kw_only=True)
class AppContext(CloudContext):
    keys: KeyResolver
    limiter: RateLimiter | None = None
    # SQLite only: list queries run inline on the event loop (cloud/db/reader.py).
    reader: SqliteReader | None = None
    # PostgreSQL only: the snapshot the page cache is versioned by (cloud/db/pg_snapshot.py).
    snapshots: SnapshotVersion | None = None
    # List pages kept while the database is unchanged (cloud/api/page_cache.py).
    page_cache: PageCache | None = None
