"""Property-based run over the app's own OpenAPI schema (schemathesis).

Every operation gets a bounded number of generated requests, valid and invalid, against a
real `apf cloud serve` on SQLite and on PostgreSQL (10 each; about 80 s for both databases
on the development machine); no response may be a server error, every response must match
the status codes, content types and schemas the OpenAPI document declares, and every
schema-valid request must be accepted (`positive_data_acceptance`): the document is as strict
as the server's validation, but for the rules listed in `_refused_by_a_rule_no_schema_states`.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import create_async_engine

from cloud.api.state import AppContext
from cloud.app import create_app
from cloud.db.engine import session_factory
from cloud.db.writer import WriteLock
from cloud.files import GcodeStore
from cloud.sealing import SecretBox
from cloud.services.auth import KeyResolver
from cloud.settings import Settings
from tests.cloud.server import RunningServer, running_server
from tests.support.postgres import create_database, drop_database


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real server on SQLite, and on PostgreSQL where the tests have one: each database
    refuses different input (PostgreSQL rejects a NUL in text), so each is probed."""
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    admin_url = os.environ.get("APF_TEST_DATABASE_URL")
    database_url = None
    if request.param == "postgres":
        if not admin_url:
            pytest.skip("PostgreSQL tests need APF_TEST_DATABASE_URL (CI sets it)")
        database_url = create_database(admin_url)
    try:
        # Rate limiting off: hundreds of generated requests must not turn into 429s.
        with running_server(
            data_dir,
            database_url=database_url,
            env_extra={"APF_RATE_LIMIT_PER_MINUTE": "0"},
            via_cli=False,
        ) as running:
            yield running
    finally:
        if database_url is not None and admin_url is not None:
            drop_database(admin_url, database_url)


def _openapi_document() -> dict[str, Any]:
    """The document the server serves, built without a database (the engine is never
    connected), so tests can be generated at collection time."""
    settings = Settings(data_dir=tempfile.mkdtemp(prefix="apf-openapi-"))
    engine = create_async_engine("sqlite+aiosqlite://")
    sessions = session_factory(engine)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keys=KeyResolver(sessions, WriteLock(enabled=False)),
        store=GcodeStore(settings.files_dir),
        secrets=SecretBox(bytes(32)),
        signing_key=b"x" * 32,
    )
    document: dict[str, Any] = create_app(settings, context=ctx).openapi_schema.to_schema()
    return document


schema = schemathesis.openapi.from_dict(_openapi_document())


def _refused_by_a_rule_no_schema_states(case: Any) -> bool:
    """Schema-valid requests the server refuses by a documented rule that ties one value to
    another or to content, which JSON Schema cannot state. Every other schema-valid request
    must be accepted (`positive_data_acceptance`: the document is as strict as validation)."""
    path, method = case.operation.path, case.method.upper()
    query = case.query if isinstance(case.query, dict) else {}
    if path.startswith("/v1/analytics/") and ({"from", "to"} & set(query)):
        return True  # a period spans at most 10 years (docs/analytics.md), `to` defaults to now
    if (path, method) == ("/v1/printers", "POST"):
        return True  # OctoPrint, PrusaLink, Bambu need `api_key`, serial `agent_id` (docs/api.md)
    if (path, method) == ("/v1/materials", "POST"):
        return True  # `remaining_weight` may not exceed `spool_weight`
    # An upload's bytes must be G-code (docs/api.md, "Jobs"), for a job or its analysis.
    uploads = ("/v1/jobs", "/v1/jobs/analyze")
    return path in uploads and method == "POST" and case.media_type == "multipart/form-data"


@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any, server: RunningServer) -> None:
    body = case.body
    excluded: list[Any] = []
    if _refused_by_a_rule_no_schema_states(case):
        excluded.append(positive_data_acceptance)
    if isinstance(body, dict):
        # Never let a generated URL reach the network, not even a DNS query for a generated
        # host name: a loopback URL is refused by the SSRF guard before any connection
        # (allow_private_urls is off here). `file_url` is a job's, `url` a webhook's.
        for key in ("file_url", "url"):
            if key in body:
                body[key] = f"{server.base_url}/generated"
                excluded.append(positive_data_acceptance)  # refused by design, see above
    if case.headers is not None and "Idempotency-Key" in case.headers:
        # A key names one request: generated cases reuse generated keys with other bodies,
        # which is refused (422) by design, not a schema mismatch.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if isinstance(case.query, dict) and "fields" in case.query:
        # Sparse fieldsets return fewer properties than the full object schema lists.
        excluded.append(response_schema_conformance)
    case.call_and_validate(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {server.api_key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            positive_data_acceptance,
        ],
        excluded_checks=excluded,
        timeout=30,
    )
