"""The API calls of every resource, built once for both clients.

Each function turns a method's arguments into a `Call` (or a list path and its query);
`resources.sync` and `resources.async_` only send them. Routes and parameters follow
api-reference.md.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

from autoprintfarm._core import Call, ProgressCallback, body, path, query
from autoprintfarm._multipart import FileInput, MultipartBody


class NotGiven(enum.Enum):
    """Marks an argument left out of an update (``None`` there means "clear the value")."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN

DateLike = str | date | datetime
Fields = str | Sequence[str]
PRINTER_ACTIONS: Final = ("pause", "resume", "cancel", "home", "cooldown")


def changes(**values: Any) -> dict[str, Any]:
    """A PATCH body: what was given, ``None`` kept (it clears the field)."""
    return {k: v for k, v in values.items() if v is not NOT_GIVEN}


def list_query(
    page: int | None, per_page: int | None, sort: str | None, fields: Fields | None, **filters: Any
) -> dict[str, str]:
    return query(**filters, page=page, per_page=per_page, sort=sort, fields=fields)


def idempotency(key: str | None) -> dict[str, str]:
    # draft-ietf-httpapi-idempotency-key-header: the value is an sf-string, i.e. quoted.
    if key is None:
        return {}
    return {"Idempotency-Key": key if key.startswith('"') else f'"{key}"'}


# -- printers ---------------------------------------------------------------------------

PRINTERS = "/v1/printers"


def printer_create(
    *,
    name: str,
    connection_url: str,
    api_key: str | None,
    model: str | None,
    group: str | None,
    tags: Sequence[str] | None,
    agent_id: str | None,
    idempotency_key: str | None,
) -> Call:
    payload = body(
        name=name,
        connection_url=connection_url,
        api_key=api_key,
        model=model,
        group=group,
        tags=list(tags) if tags is not None else None,
        agent_id=agent_id,
    )
    return Call("POST", PRINTERS, json=payload, headers=idempotency(idempotency_key))


def printer_action(printer_id: str, action: str, idempotency_key: str | None = None) -> Call:
    return _action("printers", printer_id, action, PRINTER_ACTIONS, idempotency_key)


def printer_gcode(printer_id: str, lines: Sequence[str], idempotency_key: str | None) -> Call:
    if isinstance(lines, str):
        raise TypeError("pass the G-code as a list of lines, e.g. ['M105']")
    return Call(
        "POST",
        path("v1", "printers", printer_id, "gcode"),
        json={"lines": list(lines)},
        headers=idempotency(idempotency_key),
    )


def _action(
    kind: str, resource_id: str, action: str, allowed: Sequence[str], key: str | None
) -> Call:
    if action not in allowed:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(allowed)}")
    return Call(
        "POST",
        path("v1", kind, resource_id, "actions"),
        json={"action": action},
        headers=idempotency(key),
    )


# -- jobs -------------------------------------------------------------------------------

JOBS = "/v1/jobs"


def job_create(
    *,
    file_url: str | None,
    file: FileInput | None,
    filename: str | None,
    name: str | None,
    priority: str | None,
    printer_id: str | None,
    material: str | None,
    material_color: str | None,
    copies: int | None,
    tags: Sequence[str] | None,
    on_progress: ProgressCallback | None,
    idempotency_key: str | None,
) -> Call:
    """``file_url`` → a JSON body; ``file`` (a path or a binary file) → a multipart upload."""
    if (file_url is None) == (file is None):
        raise ValueError("pass exactly one of file_url= or file=")
    headers = idempotency(idempotency_key)
    if file is None:
        payload = body(
            file_url=file_url,
            name=name,
            priority=priority,
            printer_id=printer_id,
            material=material,
            material_color=material_color,
            copies=copies,
            tags=list(tags) if tags is not None else None,
        )
        return Call("POST", JOBS, json=payload, headers=headers)
    # The curl example of the spec sends plain form fields next to the file; tags go as
    # one comma-separated field (a tag cannot contain a comma).
    form = query(
        name=name,
        priority=priority,
        printer_id=printer_id,
        material=material,
        material_color=material_color,
        copies=copies,
        tags=list(tags) if tags is not None else None,
    )
    upload = MultipartBody(form, file, filename=filename)
    return Call("POST", JOBS, upload=upload, progress=on_progress, headers=headers)


def job_analyze(
    file: FileInput, filename: str | None, on_progress: ProgressCallback | None
) -> Call:
    """The file alone, as a multipart upload: the analysis takes no other field."""
    upload = MultipartBody({}, file, filename=filename)
    return Call("POST", JOBS + "/analyze", upload=upload, progress=on_progress)


JOB_ACTIONS = ("pause", "resume", "cancel")


def job_action(job_id: str, action: str, idempotency_key: str | None = None) -> Call:
    return _action("jobs", job_id, action, JOB_ACTIONS, idempotency_key)


# -- analytics --------------------------------------------------------------------------


def analytics_query(
    from_date: DateLike | None, to_date: DateLike | None, **filters: Any
) -> dict[str, str]:
    # The API names them `from` and `to` (a Python keyword, hence from_date/to_date).
    return query(**{"from": from_date, "to": to_date}, **filters)


# -- webhooks ---------------------------------------------------------------------------

WEBHOOKS = "/v1/webhooks"


def webhook_create(
    *,
    url: str,
    events: Sequence[str],
    secret: str | None,
    enabled: bool | None,
    idempotency_key: str | None,
) -> Call:
    payload = body(url=url, events=list(events), secret=secret, enabled=enabled)
    return Call("POST", WEBHOOKS, json=payload, headers=idempotency(idempotency_key))
