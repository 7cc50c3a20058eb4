"""What creating a job must check first, read in one pass (see `OrgRepository.read`).

The statements are built once with bound parameters: building them per request cost more
than running them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from cloud.db.core import table_of
from cloud.db.models import Job, Organization, Printer, StoredFileRow
from shared.enums import JobStatus

_ORGS = table_of(Organization)
_JOBS = table_of(Job)
_PRINTERS = table_of(Printer)
_FILES = table_of(StoredFileRow)

ACTIVE_STATUSES = tuple(s.value for s in JobStatus if not s.is_final)

_PLAN = select(_ORGS.c.plan).where(_ORGS.c.id == bindparam("org_id"))
_ACTIVE_JOBS = (
    select(func.count())
    .select_from(_JOBS)
    .where(_JOBS.c.org_id == bindparam("org_id"), _JOBS.c.status.in_(ACTIVE_STATUSES))
)
_PRINTER = select(_PRINTERS.c.id).where(
    _PRINTERS.c.id == bindparam("printer_id"), _PRINTERS.c.org_id == bindparam("org_id")
)
_FILE = select(_FILES).where(
    _FILES.c.id == bindparam("file_id"), _FILES.c.org_id == bindparam("org_id")
)


@dataclass(frozen=True, slots=True)
class CreationFacts:
    plan: str | None  # None: the organization no longer exists
    active_jobs: int
    printer_found: bool  # True when no printer was named


def creation_facts(conn: Connection, org_id: str, printer_id: str | None) -> CreationFacts:
    params: dict[str, Any] = {"org_id": org_id, "printer_id": printer_id}
    plan = conn.execute(_PLAN, params).scalar()
    active = int(conn.execute(_ACTIVE_JOBS, params).scalar() or 0)
    found = printer_id is None or conn.execute(_PRINTER, params).first() is not None
    return CreationFacts(plan=plan, active_jobs=active, printer_found=found)


def stored_file(conn: Connection, org_id: str, file_id: str) -> StoredFileRow | None:
    """The organization's file row, detached (read its fields; it is not in a session)."""
    row = conn.execute(_FILE, {"org_id": org_id, "file_id": file_id}).first()
    return None if row is None else StoredFileRow(**row._mapping)
