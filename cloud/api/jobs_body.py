"""Reading `POST /v1/jobs` bodies: JSON (bounded) or a streamed multipart upload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import msgspec
from litestar import Request
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from cloud.api.strict_schema import constrain_object
from cloud.api.text import refuse_nul
from cloud.errors import from_msgspec, invalid
from cloud.problems import TooLarge
from cloud.schemas.jobs import JobCreate, JobFields
from shared.enums import ErrorCode

MAX_JSON_BYTES = 256 * 1024


async def read_json(request: Request[Any, Any, Any]) -> JobCreate:
    size = 0
    parts: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise TooLarge(
                ErrorCode.INVALID_REQUEST, f"The JSON body exceeds {MAX_JSON_BYTES} bytes."
            )
        parts.append(chunk)
    try:
        created = msgspec.json.decode(b"".join(parts), type=JobCreate)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_msgspec(exc) from exc
    refuse_nul(msgspec.to_builtins(created))
    return created


def fields_from_form(form: dict[str, list[str]]) -> JobFields:
    """Text fields of the upload form; `tags` may repeat or be comma-separated."""
    if "file_url" in form:
        raise invalid("Send either a file or a file_url, not both.", param="file_url")
    raw: dict[str, Any] = {k: v[-1] for k, v in form.items() if k != "tags"}
    if "tags" in form:
        raw["tags"] = [t.strip() for v in form["tags"] for t in v.split(",") if t.strip()]
    try:
        # strict=False: form values are text, "3" must become the int 3 for `copies`.
        return msgspec.convert(raw, JobFields, strict=False)
    except msgspec.ValidationError as exc:
        raise from_msgspec(exc) from exc


async def refuse_not_multipart(request: Request[Any, Any, Any]) -> NoReturn:
    """`POST /v1/jobs/analyze` takes a multipart upload only: any other body is refused,
    read no further than the JSON limit (413 past it, as every route caps its body)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise TooLarge(ErrorCode.INVALID_REQUEST, f"The body exceeds {MAX_JSON_BYTES} bytes.")
    raise invalid("Send multipart/form-data with the G-code in a 'file' part.", param="file")


def _string(description: str, **kw: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, **kw)


_FILE = Schema(
    type=OpenAPIType.STRING,
    format=None,
    content_media_type="application/octet-stream",
    description="The G-code file",
)
_PRIORITY = _string("low, normal, high, urgent", enum=["low", "normal", "high", "urgent"])
_COMMON: dict[str, Schema] = {
    "name": _string("Job name (default: the file name)", max_length=255),
    "priority": _PRIORITY,
    "printer_id": _string("Pin to this printer; omitted = auto-assign"),
    "material_color": _string("Colour of the material, e.g. Black (matched when given)"),
    "copies": Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=1000),
}


@dataclass
class JobCreateOperation(Operation):
    """The request body Litestar cannot infer: JSON with `file_url`, or a multipart upload."""

    def __post_init__(self) -> None:
        self.request_body = _request_body()


@dataclass
class JobAnalyzeOperation(Operation):
    """`POST /v1/jobs/analyze`: a multipart upload of one `file`."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        properties={"file": _FILE},
                        required=["file"],
                        additional_properties=False,
                    )
                )
            },
        )


def _request_body() -> RequestBody:
    json_schema = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "file_url": _string("http(s) URL of the G-code to fetch", max_length=2048),
            **_COMMON,
            "material": Schema(
                one_of=[
                    _string("Material type, e.g. PLA"),
                    Schema(
                        type=OpenAPIType.OBJECT,
                        properties={"type": _string("e.g. PLA"), "color": _string("e.g. Black")},
                        required=["type"],
                    ),
                ]
            ),
            "tags": Schema(type=OpenAPIType.ARRAY, items=_string("tag"), max_items=50),
        },
        required=["file_url"],
    )
    constrain_object(json_schema, JobCreate)  # as strict as its validation
    form_schema = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "file": _FILE,
            **_COMMON,
            "material": _string("Material type, e.g. PLA"),
            "tags": _string("Comma-separated tags"),
        },
        required=["file"],
    )
    return RequestBody(
        required=True,
        content={
            "application/json": OpenAPIMediaType(schema=json_schema),
            "multipart/form-data": OpenAPIMediaType(schema=form_schema),
        },
    )
