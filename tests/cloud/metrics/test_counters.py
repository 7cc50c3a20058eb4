"""The bridge's and the webhook worker's series move with what they do (a real broker, a
real receiver), as a scrape shows them."""

from __future__ import annotations

from typing import get_args

import aiomqtt

from cloud.bridge.inbound import Inbound, Refused
from cloud.bridge.service import _METRIC_KIND
from cloud.metrics.series import BridgeKind
from shared import wire
from shared.enums import AgentState, EventType, PrinterStatus
from tests.cloud.bridge.agent_double import agent_double
from tests.cloud.bridge.test_bridge import eventually, running_bridge
from tests.cloud.bridge.test_event_acks import register
from tests.cloud.conftest import SQLITE_ONLY, Api, OrgClient
from tests.cloud.metrics.conftest import Scrape, scrape
from tests.cloud.webhooks.conftest import WorkerFactory, create_hook, emit, fast_config
from tests.cloud.webhooks.receiver import WebhookReceiver
from tests.support.broker import TestBroker


def test_every_inbound_message_has_a_kind_label() -> None:
    assert set(_METRIC_KIND) == {*get_args(Inbound), Refused}
    assert set(_METRIC_KIND.values()) == set(BridgeKind)


@SQLITE_ONLY
async def test_bridge_messages_lag_and_events_once(
    api: Api, owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    agent_id, printer_id = await register(owner)
    org_id = owner.org.org_id
    before = await scrape(api)
    async with (
        running_bridge(owner, mqtt_broker, client_id="cloud-metrics-test"),
        agent_double(mqtt_broker, org_id, agent_id) as agent,
        aiomqtt.Client(**mqtt_broker.client_kwargs()) as stranger,
    ):
        await agent.status(AgentState.ONLINE, session=1)
        await agent.state(printer_id, PrinterStatus.IDLE)
        await agent.telemetry(printer_id, "job_none", 10.0)
        event = agent.next_event(wire.PrinterErrorEvent, printer_id, message="jam")
        await agent.send_event(event)
        await agent.send_event(event)  # as after a lost acknowledgement
        await stranger.publish(wire.events_topic(org_id, agent_id), b"{not json", qos=1)
        seen = before

        async def counted() -> bool:
            nonlocal seen
            seen = await scrape(api)
            return _delta(seen, before, "apf_events_duplicates_total") >= 1 and all(
                _delta(seen, before, "apf_bridge_messages_total", kind=kind) >= 1
                for kind in ("status", "state", "telemetry", "refused")
            )

        await eventually(counted)
    assert _delta(seen, before, "apf_bridge_messages_total", kind="event") == 2
    assert _delta(seen, before, "apf_events_applied_total") == 1
    assert _delta(seen, before, "apf_events_duplicates_total") == 1
    # Status, state, telemetry and the event applied: each one's lag observed.
    assert _delta(seen, before, "apf_bridge_apply_lag_seconds_count") >= 4
    assert _delta(seen, before, "apf_bridge_apply_lag_seconds_bucket", le="+Inf") >= 4


@SQLITE_ONLY
async def test_webhook_outcomes_durations_and_retry_queue(
    api: Api, owner: OrgClient, receiver: WebhookReceiver, run_worker: WorkerFactory
) -> None:
    receiver.status_for = lambda path: 500 if path == "/down" else 200
    await create_hook(owner, receiver.url("/up"), ["printer.error"])
    await create_hook(owner, receiver.url("/down"), ["printer.error"])
    before = await scrape(api)
    assert before.value("apf_webhook_retry_queue_depth") == 0
    # A failed attempt waits a minute for its retry: long past the end of the test.
    async with run_worker(fast_config(delays_s=(60.0,))):
        await emit(api, owner.org.org_id, EventType.PRINTER_ERROR)
        await receiver.wait_for(lambda: len(receiver.received) >= 2)
        seen = before

        async def recorded() -> bool:
            nonlocal seen
            seen = await scrape(api)
            return seen.value("apf_webhook_retry_queue_depth") == 1 and all(
                _delta(seen, before, "apf_webhook_deliveries_total", outcome=o) == 1
                for o in ("succeeded", "retrying")
            )

        await eventually(recorded)
    assert _delta(seen, before, "apf_webhook_deliveries_total", outcome="failed") == 0
    assert _delta(seen, before, "apf_webhook_delivery_seconds_count") == 2
    assert _delta(seen, before, "apf_webhook_delivery_seconds_sum") > 0


def _delta(after: Scrape, before: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)
