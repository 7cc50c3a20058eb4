"""What a request logs carries its request id and organization (shared/logs.py)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from litestar.types import Scope

from cloud.api import middleware
from shared.logs import current_log_ids
from tests.cloud.conftest import SQLITE_ONLY, OrgClient


@SQLITE_ONLY
async def test_a_request_s_ids_are_in_the_log_context_and_end_with_it(
    owner: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Mapping[str, str]] = []
    check_url = middleware._refuse_nul_in_url

    def noting_ids(scope: Scope) -> None:  # runs inside the request, past auth
        seen.append(current_log_ids())
        check_url(scope)

    monkeypatch.setattr(middleware, "_refuse_nul_in_url", noting_ids)
    r = await owner.get("/v1/printers", headers={"X-Request-Id": "abc-123"})
    assert r.status_code == 200
    assert seen == [{"request_id": "abc-123", "org_id": owner.org.org_id}]
    assert current_log_ids() == {}  # nothing left behind in the caller's context
