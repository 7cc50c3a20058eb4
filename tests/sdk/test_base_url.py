"""`base_url` names the API's root with or without a trailing `/v1` and slash: the demo prints
`API URL: http://127.0.0.1:8000/v1`, and that URL pasted into the client must work."""

from __future__ import annotations

import httpx
import pytest

from autoprintfarm import AsyncClient, Client
from tests.sdk.cloud import CloudProcess

ROOT = "http://127.0.0.1:9"
EMPTY_PAGE = {"data": [], "pagination": {"page": 1, "per_page": 20, "total": 0}}
SPELLINGS = [ROOT, ROOT + "/", ROOT + "/v1", ROOT + "/v1/", ROOT + "//v1//"]


def _recording(seen: list[str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=EMPTY_PAGE)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("base_url", SPELLINGS)
def test_every_spelling_calls_the_same_url(base_url: str) -> None:
    seen: list[str] = []
    http = httpx.Client(transport=_recording(seen))
    with Client(api_key="apf_k", base_url=base_url, http_client=http) as client:
        assert client.base_url == ROOT
        client.printers.list()
    assert seen == [ROOT + "/v1/printers"]


@pytest.mark.parametrize("base_url", SPELLINGS)
async def test_the_async_client_reads_base_url_by_the_same_rule(base_url: str) -> None:
    seen: list[str] = []
    async with (
        httpx.AsyncClient(transport=_recording(seen)) as http,
        AsyncClient(api_key="apf_k", base_url=base_url, http_client=http) as client,
    ):
        assert client.base_url == ROOT
        await client.printers.list()
    assert seen == [ROOT + "/v1/printers"]


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        # A prefix before /v1 (a reverse proxy's) is kept; only a last `v1` segment goes.
        ("https://farm.example/apf/v1/", "https://farm.example/apf"),
        ("https://farm.example/v10", "https://farm.example/v10"),
        # The host is not the path: a host named v1 stays.
        ("http://v1", "http://v1"),
        ("http://v1:8000/v1", "http://v1:8000"),
    ],
)
def test_only_a_last_v1_path_segment_is_dropped(base_url: str, root: str) -> None:
    assert Client(api_key="apf_k", base_url=base_url).base_url == root


def test_the_environment_url_is_read_by_the_same_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APF_BASE_URL", ROOT + "/v1")
    assert Client(api_key="apf_k").base_url == ROOT


def test_the_url_the_demo_prints_reaches_the_real_api(cloud: CloudProcess) -> None:
    org = cloud.create_org("v1-url")
    with Client(api_key=org.api_key, base_url=cloud.base_url + "/v1") as client:
        assert client.organization.get().name == "v1-url"
        assert client.printers.list().pagination.total == 0
