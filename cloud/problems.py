"""What the rules refuse, said in the spec's error codes, without HTTP.

Services, the queue, the orchestration and the lifecycle raise a `Problem` (or one of its
kinds); the API edge (`cloud.errors`) turns it into the error envelope and picks the HTTP
status: by the kind where it says more than the code (a `Conflict` is 409, whatever its
code), else by the code (`resource_not_found` is 404, `printer_busy` 409, …). Nothing here
imports the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.enums import ErrorCode


@dataclass(frozen=True, slots=True)
class ProblemDetail:
    message: str
    param: str | None = None


class Problem(Exception):
    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        param: str | None = None,
        details: list[ProblemDetail] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.details = details


class Conflict(Problem):
    """Valid in itself, but not in the resource's present state (a used invitation, a job
    that is no longer queued)."""


class TooLarge(Problem):
    """Over a size limit (an upload, a file at a URL)."""


class AgentFailure(Problem):
    """The agent could not do what was asked, for a reason of its own (not the request's)."""


def invalid(message: str, param: str | None = None) -> Problem:
    return Problem(ErrorCode.INVALID_REQUEST, message, param=param)


def not_found(kind: str, resource_id: str, param: str = "id") -> Problem:
    return Problem(ErrorCode.RESOURCE_NOT_FOUND, f"No {kind} with id '{resource_id}'.", param=param)
