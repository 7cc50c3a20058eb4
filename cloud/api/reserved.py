"""Analytics: routes reserved for their own issue.

They authenticate and check scopes like every other route, then answer 501 in the error
envelope, so clients see a clear "not yet" rather than a 404 or a 500.
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from cloud.api.openapi import errors
from cloud.errors import ApiError
from shared.enums import ErrorCode


def _not_implemented(what: str) -> ApiError:
    return ApiError(
        ErrorCode.INTERNAL_ERROR, f"{what} is not implemented in this version.", status_code=501
    )


_R = errors((501, "not implemented in this version"))


class AnalyticsController(Controller):
    path = "/v1/analytics"
    tags = ["analytics"]  # noqa: RUF012

    @get("/fleet", opt={"scope": "analytics:read"}, responses=_R, include_in_schema=False)
    async def fleet(self) -> None:
        raise _not_implemented("Fleet analytics")

    @get(
        "/printers/{printer_id:str}",
        opt={"scope": "analytics:read"},
        responses=_R,
        include_in_schema=False,
    )
    async def printer(self, printer_id: FromPath[str]) -> None:
        raise _not_implemented("Printer analytics")

    @get("/jobs", opt={"scope": "analytics:read"}, responses=_R, include_in_schema=False)
    async def jobs(self) -> None:
        raise _not_implemented("Job analytics")

    @get("/materials", opt={"scope": "analytics:read"}, responses=_R, include_in_schema=False)
    async def materials(self) -> None:
        raise _not_implemented("Material analytics")
