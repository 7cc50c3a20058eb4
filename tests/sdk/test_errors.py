"""Each error class, provoked on the real cloud where the cloud can be made to answer it."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from autoprintfarm import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    AutoPrintFarmError,
    Client,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PrinterBusyError,
    QuotaExceededError,
    RateLimitError,
    RetryPolicy,
)
from autoprintfarm.errors import error_class
from tests.sdk.cloud import CloudProcess
from tests.support.ports import free_port


def test_a_wrong_key_is_an_authentication_error(cloud: CloudProcess) -> None:
    with (
        Client(api_key="apf_" + "x" * 40, base_url=cloud.base_url) as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.printers.list()
    err = info.value
    assert (err.status_code, err.code) == (401, "invalid_api_key")
    assert err.request_id and err.request_id == err.headers["x-request-id"]
    assert "invalid_api_key" in str(err) and err.request_id in str(err)


def test_a_key_without_the_scope_is_permission_denied(cloud: CloudProcess) -> None:
    org = cloud.create_org("readonly", scopes=["printers:read"])
    with Client(api_key=org.api_key, base_url=cloud.base_url) as client:
        assert client.printers.list().data == []
        with pytest.raises(PermissionDeniedError) as info:
            client.printers.create(name="x", connection_url="http://10.1.1.1", api_key="k")
    assert (info.value.status_code, info.value.code) == (403, "insufficient_permissions")


def test_the_plan_limit_is_quota_exceeded_not_permission_denied(cloud: CloudProcess) -> None:
    org = cloud.create_org("small", plan="free")
    with Client(api_key=org.api_key, base_url=cloud.base_url) as client:
        for i in range(10):  # the free plan's printer limit (cloud/services/quotas.py)
            client.printers.create(name=f"p{i}", connection_url="http://10.1.1.1", api_key="k")
        with pytest.raises(QuotaExceededError) as info:
            client.printers.create(name="p10", connection_url="http://10.1.1.1", api_key="k")
    # Same status as insufficient_permissions: the class comes from the spec's code.
    assert (info.value.status_code, info.value.code) == (403, "quota_exceeded")
    assert not isinstance(info.value, PermissionDeniedError)


def test_rate_limit_error_carries_retry_after(limited_cloud: CloudProcess) -> None:
    org = limited_cloud.create_org("busy")
    with Client(api_key=org.api_key, base_url=limited_cloud.base_url, max_retries=0) as client:
        for _ in range(3):
            client.printers.list()
        with pytest.raises(RateLimitError) as info:
            client.printers.list()
        # The draft-11 headers, read after every answer.
        assert client.rate_limit is not None
        assert (client.rate_limit.limit, client.rate_limit.remaining) == (3, 0)
        assert client.rate_limit.window_s == 60
    err = info.value
    assert (err.status_code, err.code) == (429, "rate_limit_exceeded")
    assert err.retry_after_s is not None and 0 < err.retry_after_s <= 60
    assert err.headers["retry-after"] == str(int(err.retry_after_s))
    assert err.rate_limit is not None and err.rate_limit.remaining == 0


def test_429_is_retried_after_retry_after_even_for_post(limited_cloud: CloudProcess) -> None:
    org = limited_cloud.create_org("patient")
    waits: list[float] = []
    with Client(api_key=org.api_key, base_url=limited_cloud.base_url, max_retries=2) as client:
        client._sleep = waits.append  # the clock seam: record instead of waiting a minute
        for _ in range(3):
            client.printers.list()
        with pytest.raises(RateLimitError) as info:
            client.printers.create(name="x", connection_url="http://10.1.1.1", api_key="k")
    # Two retries, each after the server's Retry-After, then the error.
    assert len(waits) == 2
    assert all(0 < w <= 60 for w in waits)
    assert waits[0] == info.value.retry_after_s or abs(waits[0] - waits[1]) <= 1


def test_a_retry_after_beyond_the_cap_is_raised_at_once(limited_cloud: CloudProcess) -> None:
    org = limited_cloud.create_org("hasty")
    policy = RetryPolicy(max_retries=3, max_retry_after_s=0.5)
    waits: list[float] = []
    with Client(api_key=org.api_key, base_url=limited_cloud.base_url, retry=policy) as client:
        client._sleep = waits.append
        for _ in range(3):
            client.printers.list()
        with pytest.raises(RateLimitError):
            client.printers.list()
    assert waits == []


def test_connection_refused_is_retried_then_raised() -> None:
    port = free_port()  # nothing listens there
    attempts: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: attempts.append(r.method)]})
    client = Client(
        api_key="apf_k", base_url=f"http://127.0.0.1:{port}", max_retries=2, http_client=http
    )
    client._sleep = lambda _s: None
    with pytest.raises(APIConnectionError) as get_err:
        client.printers.list()
    assert not isinstance(get_err.value, APITimeoutError)
    assert attempts == ["GET"] * 3
    attempts.clear()
    # The connection failed before the request was sent, so a POST is retried too.
    with pytest.raises(APIConnectionError):
        client.printers.create(name="x", connection_url="http://10.1.1.1", api_key="k")
    assert attempts == ["POST"] * 3
    http.close()


class _SilentServer:
    """Accepts connections, reads the request, never answers: a hung server."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            self._conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self.sock.close()


def test_no_answer_in_time_is_a_timeout_retried_only_when_safe() -> None:
    server = _SilentServer()
    try:
        client = Client(api_key="apf_k", base_url=f"http://127.0.0.1:{server.port}", timeout_s=0.3)
        client._sleep = lambda _s: None
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.printers.get("prt_1")
        assert server.accepted == 3  # GET: first try + 2 retries
        assert time.monotonic() - started < 10
        # A POST that reached the server may have run: not re-sent without a key.
        with pytest.raises(APITimeoutError):
            client.printers.create(name="x", connection_url="http://10.1.1.1", api_key="k")
        assert server.accepted == 4
        # With an Idempotency-Key a replay is safe (the server returns the stored result).
        with pytest.raises(APITimeoutError):
            client.printers.create(
                name="x", connection_url="http://10.1.1.1", api_key="k", idempotency_key="k-1"
            )
        assert server.accepted == 7
        client.close()
    finally:
        server.close()


def _mock_client(handler: httpx.MockTransport, retries: int = 2) -> Client:
    # MockTransport only for answers the real cloud cannot be made to give (a 5xx).
    client = Client(
        api_key="apf_k",
        base_url="http://127.0.0.1:9",
        max_retries=retries,
        http_client=httpx.Client(transport=handler),
    )
    client._sleep = lambda _s: None
    return client


def test_5xx_is_internal_server_error_retried_for_idempotent_verbs_only() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if request.method == "DELETE" or len(seen) > 100:
            return httpx.Response(
                500,
                json={
                    "error": {"code": "internal_error", "message": "boom", "request_id": "req_1"}
                },
            )
        return httpx.Response(503, text="upstream down")

    client = _mock_client(httpx.MockTransport(answer))
    with pytest.raises(InternalServerError) as unavailable:
        client.printers.get("prt_1")
    assert seen == ["GET"] * 3 and unavailable.value.status_code == 503
    assert unavailable.value.code is None and "503" in str(unavailable.value)
    seen.clear()
    with pytest.raises(InternalServerError):
        client.jobs.create(file_url="https://example.com/x.gcode")
    assert seen == ["POST"]
    seen.clear()
    with pytest.raises(InternalServerError) as boom:
        client.printers.delete("prt_1")  # a 500 is not transient: never retried
    assert seen == ["DELETE"] and boom.value.request_id == "req_1"


def test_unknown_codes_fall_back_to_the_status() -> None:
    assert error_class("printer_busy", 409) is PrinterBusyError
    assert error_class("something_new", 409) is ConflictError
    assert error_class(None, 404) is NotFoundError
    assert error_class(None, 413) is InvalidRequestError
    assert error_class(None, 502) is InternalServerError
    assert issubclass(RateLimitError, APIError) and issubclass(APIError, AutoPrintFarmError)
    assert issubclass(APITimeoutError, APIConnectionError)


def test_a_missing_key_is_refused_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APF_API_KEY", raising=False)
    with pytest.raises(AutoPrintFarmError, match="APF_API_KEY"):
        Client()
    with pytest.raises(AutoPrintFarmError, match="base_url"):
        Client(api_key="k", base_url="ftp://x")


def test_key_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, cloud: CloudProcess
) -> None:
    org = cloud.create_org("fromenv")
    monkeypatch.setenv("APF_API_KEY", org.api_key)
    monkeypatch.setenv("APF_BASE_URL", cloud.base_url + "/")
    with Client() as client:
        assert client.base_url == cloud.base_url
        assert client.printers.list().pagination.total == 0
    monkeypatch.delenv("APF_BASE_URL")
    assert Client().base_url == "https://api.autoprintfarm.com"


def test_the_key_printed_by_create_org_authenticates(cloud: CloudProcess) -> None:
    """The documented way to get a first key: the last line of `apf cloud admin create-org`."""
    key = cloud.create_org_cli("cli-farm", plan="free")
    with Client(api_key=key, base_url=cloud.base_url) as client:
        assert client.printers.list().pagination.total == 0
        assert client.organization.get().name == "cli-farm"
