"""`Client`: the blocking client (httpx.Client) and its retry loop."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from autoprintfarm import _core
from autoprintfarm._core import Call, Options
from autoprintfarm._retry import RetryPolicy, may_retry_network
from autoprintfarm.pagination import SyncPage
from autoprintfarm.ratelimit import RateLimit, rate_limit_from
from autoprintfarm.resources import sync as res
from autoprintfarm.resources import sync_org as org_res

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Client:
    """The AutoPrintFarm API.

    ``api_key`` defaults to ``$APF_API_KEY`` and ``base_url`` to ``$APF_BASE_URL``, else
    ``https://api.autoprintfarm.com``; the URL may end in ``/v1`` or not (both name the same
    API). Use it as a context manager (or call ``close()``) to release its connections. Pass
    ``http_client`` to bring your own ``httpx.Client`` (proxies, TLS, transports); the SDK
    then leaves closing it to you.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout_s: float = _core.DEFAULT_TIMEOUT_S,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._options: Options = _core.resolve_options(
            api_key=api_key,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            retry=retry,
            headers=headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=_core.httpx_timeout(timeout_s), follow_redirects=False
        )
        self._sleep: Callable[[float], None] = time.sleep
        # What the latest answer said about the key's rate limit (None before any answer).
        self.rate_limit: RateLimit | None = None
        self.printers = res.Printers(self)
        self.jobs = res.Jobs(self)
        self.materials = res.Materials(self)
        self.analytics = res.Analytics(self)
        self.webhooks = org_res.Webhooks(self)
        self.organization = org_res.OrganizationResource(self)
        self.users = org_res.Users(self)
        self.agents = org_res.Agents(self)
        self.mqtt_credentials = org_res.MqttCredentials(self)
        self.api_keys = org_res.ApiKeys(self)

    @property
    def base_url(self) -> str:
        """The API's root, as normalised: no trailing slash, no trailing ``/v1``."""
        return self._options.base_url

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<autoprintfarm.Client base_url={self.base_url!r}>"

    # -- plumbing used by the resources ------------------------------------------------

    def _request(self, call: Call, type_: type[T]) -> T:
        result: T = _core.result(self._send_with_retries(call), type_)
        return result

    def _request_optional(self, call: Call, type_: type[T]) -> T | None:
        """For answers that may be 204 No Content."""
        result: T | None = _core.result(self._send_with_retries(call), type_)
        return result

    def _request_empty(self, call: Call) -> None:
        self._send_with_retries(call)

    def _page(self, path: str, params: Mapping[str, str], item_type: type[T]) -> SyncPage[T]:
        page_type: Any = _core.PageBody[item_type]  # type: ignore[valid-type]

        def fetch(page: int) -> SyncPage[T]:
            wanted = {**params, "page": str(page)}
            body: Any = self._request(Call("GET", path, params=wanted), page_type)
            return SyncPage(body.data, body.pagination, fetch)

        first: Any = self._request(Call("GET", path, params=params), page_type)
        return SyncPage(first.data, first.pagination, fetch)

    def _send_once(self, call: Call) -> httpx.Response:
        headers = {**_core.default_headers(self._options), **call.headers}
        content: Any = call.json_body()
        if call.upload is not None:
            headers.update(call.upload.headers())
            content = call.upload.iter_sync(call.progress)
        elif content is not None:
            headers["Content-Type"] = "application/json"
        return self._http.request(
            call.method,
            self._options.base_url + call.path,
            params=call.params,
            content=content,
            headers=headers,
        )

    def _send_with_retries(self, call: Call) -> httpx.Response:
        policy = self._options.retry
        replayable = call.upload is None or call.upload.replayable
        attempt = 0
        while True:
            try:
                response = self._send_once(call)
            except httpx.TransportError as exc:
                error = _core.connection_error(exc, call, self._options.base_url + call.path)
                retry = replayable and may_retry_network(
                    call.method, sent=_core.was_sent(exc), idempotency_key=call.has_idempotency_key
                )
                if not retry or attempt >= policy.max_retries:
                    raise error from exc
                delay_s = policy.backoff_s(attempt)
                logger.info("%s; retrying in %.2f s", error, delay_s)
            else:
                self.rate_limit = rate_limit_from(response.headers) or self.rate_limit
                if response.is_success:
                    return response
                api_error = _core.api_error(response)
                delay = _core.status_retry_delay(call, api_error, policy, attempt, replayable)
                if delay is None:
                    raise api_error
                delay_s = delay
                logger.info("%s; retrying in %.2f s", api_error, delay_s)
            self._sleep(delay_s)
            attempt += 1
