"""One exception tree for outbound HTTP to user-supplied URLs.

Every error carries `reason`: one sentence for the API user, safe to put in an error envelope
(it never echoes what a host name resolved to, so the API is no oracle for internal DNS).
"""

from __future__ import annotations


class OutboundURLError(Exception):
    """Base: a user-supplied URL could not be used. `reason` is meant for the API user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeURLError(OutboundURLError):
    """The URL is malformed or points where the URL policy forbids (private, loopback, …)."""


class FetchError(OutboundURLError):
    """The URL passed the policy but fetching it failed."""


class HostResolutionError(FetchError):
    """The host name did not resolve (or resolving it timed out)."""


class FetchConnectionError(FetchError):
    """Connecting failed, TLS verification failed, or the connection broke mid-transfer."""


class FetchTimeoutError(FetchError):
    """The whole fetch took longer than its time budget."""


class FetchStatusError(FetchError):
    """The server answered with a status other than 200 (after any permitted redirects)."""

    def __init__(self, reason: str, *, status_code: int) -> None:
        super().__init__(reason)
        self.status_code = status_code


class TooManyRedirectsError(FetchError):
    """More redirects than allowed (or a redirect without a usable Location)."""


class ResponseTooLargeError(FetchError):
    """The body is larger than the caller's `max_bytes`."""

    def __init__(self, reason: str, *, max_bytes: int) -> None:
        super().__init__(reason)
        self.max_bytes = max_bytes


class UnsupportedEncodingError(FetchError):
    """The server compressed the body although we asked for `Accept-Encoding: identity`."""
