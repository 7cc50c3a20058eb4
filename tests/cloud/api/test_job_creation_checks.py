"""`POST /v1/jobs` checks read before the write: the active-jobs quota, the printer, the file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from cloud.db.models import Job
from cloud.ids import IdPrefix, new_id
from cloud.services.quotas import plan_for
from tests.cloud.api.test_jobs import make_job
from tests.cloud.api.test_printers import make_printer
from tests.cloud.conftest import Api, OrgClient, SessionRunner, assert_error


async def test_active_jobs_quota_counts_only_unfinished_jobs(
    api: Api, in_db: SessionRunner
) -> None:
    free = OrgClient(api, await api.new_org("tiny", plan="free"))
    first = await make_job(free)
    limit = plan_for("free").active_jobs
    assert limit is not None
    file_id = first["file_url"].rsplit("/", 1)[1]

    async def fill_quota(session: Any) -> None:
        session.add_all(
            Job(id=new_id(IdPrefix.JOB), org_id=free.org.org_id, name="j", file_id=file_id)
            for _ in range(limit - 1)
        )

    await in_db(fill_quota)
    body = {"file_url": first["file_url"]}
    assert_error(await free.post("/v1/jobs", json=body), 403, "quota_exceeded")

    async def finish_first(session: Any) -> None:
        table = Job.__table__  # type: ignore[attr-defined]
        await session.execute(
            update(table).where(table.c.id == first["id"]).values(status="completed")
        )

    await in_db(finish_first)
    r = await free.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text


async def test_file_url_job_names_only_own_printer_and_file(
    owner: OrgClient, other: OrgClient
) -> None:
    job = await make_job(owner)
    mine = await make_printer(owner)
    theirs = await make_printer(other)
    r = await owner.post("/v1/jobs", json={"file_url": job["file_url"], "printer_id": theirs["id"]})
    assert_error(r, 404, "resource_not_found", "printer_id")
    r = await other.post("/v1/jobs", json={"file_url": job["file_url"]})
    assert_error(r, 404, "resource_not_found", "file_url")
    r = await owner.post("/v1/jobs", json={"file_url": job["file_url"], "printer_id": mine["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["printer_id"] == mine["id"]
