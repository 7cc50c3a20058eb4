"""`client.printers`: every method against the real cloud, lists walked across pages."""

from __future__ import annotations

import pytest

from autoprintfarm import (
    Client,
    GcodeCommand,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    Printer,
    PrinterBusyError,
    PrinterOfflineError,
    SyncPage,
)
from tests.sdk.cloud import CloudProcess, Org


def _octoprint(client: Client, name: str, **kw: object) -> Printer:
    return client.printers.create(
        name=name,
        connection_url="http://192.168.1.105",
        api_key="OctoPrint-API-Key",
        **kw,  # type: ignore[arg-type]
    )


def test_create_get_update_delete(client: Client) -> None:
    created = client.printers.create(
        name="Prusa-B-05",
        connection_url="http://192.168.1.105",
        api_key="OctoPrint-API-Key",
        model="Prusa i3 MK3S+",
        group="production",
        tags=["enclosed"],
    )
    assert created.id.startswith("prt_")
    assert (created.name, created.model, created.group) == (
        "Prusa-B-05",
        "Prusa i3 MK3S+",
        "production",
    )
    assert created.tags == ["enclosed"]
    assert created.status == "offline"
    assert created.reported_materials == []  # an OctoPrint printer reports none
    assert created.created_at is not None

    fetched = client.printers.get(created.id)
    assert fetched == created

    updated = client.printers.update(created.id, name="Prusa-B-06", group=None, tags=["a", "b"])
    assert (updated.name, updated.group, updated.tags) == ("Prusa-B-06", None, ["a", "b"])
    # Arguments left out are left alone.
    assert updated.model == "Prusa i3 MK3S+"

    client.printers.delete(created.id)
    with pytest.raises(NotFoundError) as info:
        client.printers.get(created.id)
    assert info.value.code == "resource_not_found"
    assert info.value.status_code == 404
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_list_filters_by_the_spec_query_parameters(client: Client, cloud: CloudProcess) -> None:
    a = _octoprint(client, "a", group="production", tags=["enclosed"])
    b = _octoprint(client, "b", group="lab", tags=["enclosed", "multi-material"])
    _octoprint(client, "c", group="lab")
    cloud.set_printer_state(a.id, status="printing")

    printing = client.printers.list(status="printing")
    assert isinstance(printing, SyncPage)
    assert [p.id for p in printing.data] == [a.id]
    assert [p.id for p in client.printers.list(group="lab", tag="multi-material")] == [b.id]
    assert sorted(p.name for p in client.printers.list(tag="enclosed")) == ["a", "b"]


def test_iterating_a_list_walks_every_page_lazily(client: Client) -> None:
    ids = [_octoprint(client, f"p{i:02}").id for i in range(7)]
    first = client.printers.list(per_page=3, sort="name")
    assert [p.id for p in first.data] == ids[:3]
    assert (first.pagination.page, first.pagination.total, first.pagination.total_pages) == (
        1,
        7,
        3,
    )
    assert first.has_next_page()

    pages = list(first.iter_pages())
    assert [len(p.data) for p in pages] == [3, 3, 1]
    assert [p.pagination.page for p in pages] == [1, 2, 3]
    assert pages[-1].next_page() is None
    assert [p.id for p in first] == ids  # every item of every page, in order

    # One page on request.
    second = client.printers.list(page=2, per_page=3, sort="name")
    assert [p.id for p in second.data] == ids[3:6]
    assert [p.id for p in client.printers.list(sort="-name", per_page=100)] == ids[::-1]


def test_lazy_iteration_fetches_a_page_only_when_reached(cloud: CloudProcess, org: Org) -> None:
    import httpx

    requested: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: requested.append(str(r.url))]})
    with Client(api_key=org.api_key, base_url=cloud.base_url, http_client=http) as client:
        for i in range(5):
            _octoprint(client, f"q{i}")
        requested.clear()
        page = client.printers.list(per_page=2)
        assert len(requested) == 1
        items = iter(page)
        next(items), next(items)
        assert len(requested) == 1
        next(items)
        assert len(requested) == 2
        assert "page=2" in requested[-1]
    http.close()


def test_sparse_fields_decode_with_defaults(client: Client) -> None:
    made = _octoprint(client, "sparse", model="MK4", tags=["x"])
    (only,) = client.printers.list(fields="id,name").data
    assert (only.id, only.name) == (made.id, "sparse")
    assert only.model is None and only.tags == [] and only.created_at is None
    (again,) = client.printers.list(fields=["id", "tags"]).data
    assert again.tags == ["x"] and again.name == ""


def test_actions_reach_the_printer_or_say_why_not(
    client: Client, cloud: CloudProcess, org: Org
) -> None:
    printer = _octoprint(client, "act")
    with pytest.raises(PrinterOfflineError) as offline:
        client.printers.pause(printer.id)
    assert offline.value.code == "printer_offline" and offline.value.status_code == 409

    agent_id = cloud.create_agent(org.org_id)
    cloud.set_printer_state(printer.id, status="printing", agent_id=agent_id)
    command = client.printers.pause(printer.id)
    assert (command.printer_id, command.action, command.status) == (printer.id, "pause", "pending")
    assert command.id is not None and command.id.startswith("cmd_")
    assert client.printers.cancel(printer.id).action == "cancel"
    with pytest.raises(PrinterBusyError) as busy:
        client.printers.home(printer.id)
    assert busy.value.code == "printer_busy"

    cloud.set_printer_state(printer.id, status="paused")
    assert client.printers.resume(printer.id).action == "resume"
    assert client.printers.cooldown(printer.id).action == "cooldown"
    cloud.set_printer_state(printer.id, status="idle")
    assert client.printers.home(printer.id).action == "home"
    assert client.printers.action(printer.id, "cooldown").status == "pending"

    with pytest.raises(ValueError, match="unknown action"):
        client.printers.action(printer.id, "explode")


def test_gcode_needs_an_admin_key_and_an_idle_printer(
    client: Client, cloud: CloudProcess, org: Org
) -> None:
    printer = _octoprint(client, "console")
    with pytest.raises(PrinterOfflineError):
        client.printers.gcode(printer.id, ["M105"])
    cloud.set_printer_state(printer.id, status="idle", agent_id=cloud.create_agent(org.org_id))
    sent = client.printers.gcode(printer.id, ["M105", "G28 X"])
    assert isinstance(sent, GcodeCommand)
    # This cloud runs no bridge: recorded for the agent, no reply yet.
    assert (sent.printer_id, sent.lines, sent.status, sent.replies) == (
        printer.id,
        ["M105", "G28 X"],
        "pending",
        [],
    )
    assert sent.id.startswith("cmd_") and sent.expires_at is not None
    again = client.printers.gcode(printer.id, ["M105"], idempotency_key="sdk-gcode-1")
    assert client.printers.gcode(printer.id, ["M105"], idempotency_key="sdk-gcode-1") == again

    with pytest.raises(InvalidRequestError) as blank:
        client.printers.gcode(printer.id, ["   "])
    assert blank.value.status_code == 400
    with pytest.raises(TypeError, match="list of lines"):
        client.printers.gcode(printer.id, "M105")
    cloud.set_printer_state(printer.id, status="printing")
    with pytest.raises(PrinterBusyError):
        client.printers.gcode(printer.id, ["M105"])
    operator = cloud.create_org("console-operator", scopes=["printers:read", "printers:write"])
    with (
        Client(api_key=operator.api_key, base_url=cloud.base_url) as limited,
        pytest.raises(PermissionDeniedError) as denied,
    ):
        limited.printers.gcode(printer.id, ["M105"])
    assert denied.value.code == "insufficient_permissions"


def test_delete_of_a_printing_printer_is_printer_busy(client: Client, cloud: CloudProcess) -> None:
    printer = _octoprint(client, "busy")
    cloud.set_printer_state(printer.id, status="printing")
    with pytest.raises(PrinterBusyError):
        client.printers.delete(printer.id)
    assert client.printers.get(printer.id).status == "printing"


def test_invalid_request_names_the_parameter(client: Client) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.printers.create(name="x", connection_url="http://10.0.0.9")  # no api_key
    assert info.value.code == "invalid_request"
    assert info.value.param == "api_key"
    assert info.value.status_code == 400
    with pytest.raises(InvalidRequestError) as per_page:
        client.printers.list(per_page=101)
    assert per_page.value.param == "per_page"
    with pytest.raises(InvalidRequestError) as fields:
        client.printers.list(fields="id,nope")
    assert fields.value.param == "fields"


def test_the_client_reads_the_rate_limit_headers(client: Client) -> None:
    assert client.rate_limit is None
    client.printers.list()
    first = client.rate_limit
    assert first is not None and first.limit == 100000  # the fixture's per-minute quota
    client.printers.list()
    assert client.rate_limit is not None and first.remaining is not None
    assert client.rate_limit.remaining == first.remaining - 1


def test_an_idempotency_key_makes_a_repeated_call_run_once(
    client: Client, cloud: CloudProcess, org: Org
) -> None:
    first = _octoprint(client, "once", idempotency_key="sdk-create-1")
    again = _octoprint(client, "once", idempotency_key="sdk-create-1")
    assert again == first
    assert [p.id for p in client.printers.list()] == [first.id]
    with pytest.raises(InvalidRequestError) as reused:
        _octoprint(client, "another", idempotency_key="sdk-create-1")
    assert (reused.value.status_code, reused.value.param) == (422, "Idempotency-Key")

    cloud.set_printer_state(first.id, status="printing", agent_id=cloud.create_agent(org.org_id))
    paused = client.printers.action(first.id, "pause", idempotency_key="sdk-pause-1")
    assert client.printers.action(first.id, "pause", idempotency_key="sdk-pause-1") == paused
    invitation = client.users.invite(email="once@farm.test", idempotency_key="sdk-invite-1")
    assert client.users.invite(email="once@farm.test", idempotency_key="sdk-invite-1") == invitation
    agent = client.agents.create(name="pi-once", idempotency_key="sdk-agent-1")
    assert client.agents.create(name="pi-once", idempotency_key="sdk-agent-1") == agent
