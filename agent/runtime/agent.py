"""The agent: one task group owns the MQTT link, the outbox pump, and a supervisor per printer.

Start-up order matters for "every job in flight reported exactly once": the store is opened
and jobs left in flight by a previous run are settled (serial prints failed with "agent
restarted"; OctoPrint and Moonraker jobs left to their driver to re-attach) *before* any driver
connects. Printers are the cloud's retained desired config (the last copy is kept, so a
restart during an outage still drives them) merged with the local file's printers, which
win on a clash; a change is applied without a restart, and a printer that is printing
keeps its old settings until the job is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.config import AgentConfig, ConfigError, broker_endpoint, listen_address
from agent.drivers.base import DriverError
from agent.drivers.registry import (
    DRIVERS,
    PRINTS_WITHOUT_AGENT,
    DriverFactory,
    DriverServices,
    connection_kind,
)
from agent.files.cache import FileCache
from agent.runtime import convert
from agent.runtime.commands import CommandDispatcher
from agent.runtime.desired import DesiredPrinters
from agent.runtime.jobs import AGENT_STOPPED, JobBook
from agent.runtime.ledger import JobRecord, Ledger
from agent.runtime.reporter import Reporter
from agent.runtime.supervisor import PrinterSupervisor, SupervisorSettings
from agent.sync.mqtt import LinkSetupError, MqttLink
from agent.sync.outbox import Outbox, PublishFailed, drain
from agent.sync.store import Store
from shared.backoff import Backoff
from shared.enums import AgentState, PrinterStatus
from shared.logs import log_context
from shared.version import __version__
from shared.wire import (
    AgentStatus,
    EventAck,
    PrinterConfig,
    PrinterState,
    WireDecodeError,
    acks_topic,
    commands_topic,
    config_topic,
    decode_ack,
    encode,
    events_topic,
    status_topic,
)

if TYPE_CHECKING:
    from agent.runtime.metrics_server import MetricsServer

log = logging.getLogger(__name__)

SESSION_KEY = "mqtt_session"
SHUTDOWN_FLUSH_S = 5.0
STOP_PRINT_TIMEOUT_S = 5.0
STOP_SUPERVISOR_TIMEOUT_S = 15.0
PRUNE_INTERVAL_S = 3600.0


class StartupError(Exception):
    """The agent cannot start; the message says what to fix."""


@dataclass(slots=True)
class _Running:
    supervisor: PrinterSupervisor
    task: asyncio.Task[None]


class Agent:
    def __init__(
        self, config: AgentConfig, *, drivers: Mapping[str, DriverFactory] = DRIVERS
    ) -> None:
        self.config = config
        self._drivers = drivers
        self._running: dict[str, _Running] = {}
        # What the retained state of each unreadable printer last said (published once).
        self._unreadable_told: dict[str, str] = {}
        self._reconcile = asyncio.Event()
        self._cooldown: set[str] = set()
        self._waiting_logged: set[str] = set()
        self.ready = asyncio.Event()
        # Set while serving metrics (`[metrics] listen`); its `port` is the one bound.
        self.metrics_server: MetricsServer | None = None

    # --- wiring ----------------------------------------------------------------------

    def _wire(self, store: Store) -> None:
        cfg = self.config
        org, agent = cfg.org_id, cfg.agent_id
        self.store = store
        self.ledger = Ledger(store)
        self.desired = DesiredPrinters(cfg.agent_id, self.ledger)
        self.outbox = Outbox(
            store, events_topic=events_topic(org, agent), max_rows=cfg.outbox.max_rows
        )
        self._commands_topic = commands_topic(org, agent)
        self._config_topic = config_topic(org, agent)
        self._acks_topic = acks_topic(org, agent)
        self.link = MqttLink(
            broker_endpoint(cfg.mqtt),
            client_id=cfg.mqtt_client_id,
            status_topic=status_topic(org, agent),
            subscriptions=[self._config_topic, self._commands_topic, self._acks_topic],
            next_session=lambda: store.next_counter(SESSION_KEY),
            status_payload=self._status_payload,
            on_message=self._on_message,
            on_connected=self._on_connected,
            keepalive_s=cfg.mqtt.keepalive_s,
        )
        self.reporter = Reporter(
            link=self.link,
            outbox=self.outbox,
            org_id=org,
            agent_id=agent,
            offline_telemetry_interval_s=cfg.outbox.offline_telemetry_interval_s,
        )
        self.jobs = JobBook(self.ledger, self.reporter)
        self.files = FileCache(
            cfg.data_path / "files",
            max_bytes=cfg.files.cache_max_mb * 1024 * 1024,
            download_timeout_s=cfg.files.download_timeout_s,
        )
        self.dispatcher = CommandDispatcher(
            ledger=self.ledger,
            reporter=self.reporter,
            supervisor_of=self.supervisor,
            agent_id=agent,
        )
        self._services = DriverServices(
            data_dir=cfg.data_path,
            store=store,
        )

    def _status_payload(self, online: bool, session: int) -> bytes:
        return encode(
            AgentStatus(
                state=AgentState.ONLINE if online else AgentState.OFFLINE,
                session=session,
                agent_version=__version__,
                ts=convert.utc_now(),
                printer_ids=sorted(self._running),
            )
        )

    def supervisor(self, printer_id: str) -> PrinterSupervisor | None:
        running = self._running.get(printer_id)
        return running.supervisor if running is not None else None

    def supervisors(self) -> list[PrinterSupervisor]:
        return [running.supervisor for running in self._running.values()]

    async def _serve_metrics(self, stack: contextlib.AsyncExitStack) -> None:
        try:
            address = listen_address(self.config.metrics)
        except ConfigError as exc:
            raise StartupError(str(exc)) from exc
        if address is None:
            return  # off unless configured: no port opened
        # Imported only when on: prometheus_client takes a tenth of a second to import.
        from agent.runtime.metrics import CONTENT_TYPE, AgentMetrics
        from agent.runtime.metrics_server import MetricsServer

        metrics = AgentMetrics(
            printers=self.supervisors,
            mqtt_connected=self.link.connected.is_set,
            outbox=self.outbox,
        )
        server = MetricsServer(*address, metrics.render, CONTENT_TYPE)
        try:
            self.metrics_server = await stack.enter_async_context(server)
        except OSError as exc:
            raise StartupError(
                f"metrics.listen = {self.config.metrics.listen!r}: cannot listen there: {exc}"
            ) from exc

    # --- run -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.config
        log.info(
            "agent %s (org %s) starting: broker %s, data in %s, %d local printer(s)",
            cfg.agent_id,
            cfg.org_id,
            broker_endpoint(cfg.mqtt),
            cfg.data_path,
            len(cfg.printers),
        )
        async with contextlib.AsyncExitStack() as stack:
            # Every record the agent's tasks log names the agent and its organization.
            stack.enter_context(log_context(agent_id=cfg.agent_id, org_id=cfg.org_id))
            try:
                store = await stack.enter_async_context(Store(cfg.data_path / "agent.db"))
            except (OSError, sqlite3.Error) as exc:
                raise StartupError(f"cannot use the data directory {cfg.data_path}: {exc}") from exc
            try:
                self._wire(store)
            except (LinkSetupError, OSError) as exc:
                raise StartupError(str(exc)) from exc
            # Closed by the stack before the store it reads.
            await self._serve_metrics(stack)
            await self.desired.load()
            self.outbox.set_keep_until_acked(self.desired.event_acks)
            await self._recover()
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                background = [
                    tg.create_task(self.link.run(), name="mqtt-link"),
                    tg.create_task(self.reporter.run_states(), name="states"),
                    tg.create_task(self.reporter.run_outbox(), name="outbox"),
                    tg.create_task(self.reporter.run_heartbeat(cfg.heartbeat_s), name="heartbeat"),
                    tg.create_task(self._reconcile_loop(), name="reconcile"),
                    tg.create_task(self._prune_loop(), name="prune"),
                ]
                # The printers known now (local + last desired config) start at once, even
                # while the broker is unreachable.
                await self._apply(self._wanted())
                self.ready.set()
                await stop.wait()
                log.info("agent %s stopping", cfg.agent_id)
                await self._shutdown(background)

    async def _shutdown(self, background: list[asyncio.Task[None]]) -> None:
        await self._stop_serial_prints()
        for pid in list(self._running):
            await self._stop_supervisor(pid, final=None)
        interrupted = await self.jobs.recover_after_restart(
            lambda r: r.driver_kind in PRINTS_WITHOUT_AGENT, AGENT_STOPPED
        )
        if interrupted:
            log.warning("%d serial print(s) stopped with the agent", len(interrupted))
        outbox_task = next(t for t in background if t.get_name() == "outbox")
        outbox_task.cancel()
        if self.link.connected.is_set():
            try:
                async with asyncio.timeout(SHUTDOWN_FLUSH_S):
                    await drain(self.outbox, self._publish)
            except (TimeoutError, PublishFailed) as exc:
                log.info("shutdown: outbox kept for the next start (%s)", exc or "timeout")
        await self.link.close()
        for task in background:
            task.cancel()

    async def _stop_serial_prints(self) -> None:
        """A serial print cannot go on without its host: end each safely (heaters off)."""
        async with asyncio.TaskGroup() as tg:
            for running in self._running.values():
                supervisor = running.supervisor
                busy = supervisor.status in (PrinterStatus.PRINTING, PrinterStatus.PAUSED)
                if supervisor.kind == "serial" and busy:
                    tg.create_task(self._stop_print(supervisor))

    async def _stop_print(self, supervisor: PrinterSupervisor) -> None:
        pid = supervisor.printer_id
        # Reported first, so the driver's own "cancelled" that follows is a repeat.
        await self.jobs.fail_current(pid, AGENT_STOPPED)
        driver = supervisor.driver
        if driver is None:
            return
        try:
            async with asyncio.timeout(STOP_PRINT_TIMEOUT_S):
                await driver.cancel()
                # cancel() only queues its commands; cooldown() waits for the printer's ok,
                # so the heaters are off before the port closes.
                await driver.cooldown()
            log.warning("printer %s: print stopped with the agent, heaters off", pid)
        except (DriverError, TimeoutError) as exc:
            log.warning("printer %s: could not stop the print cleanly: %s", pid, exc)

    async def _publish(self, topic: str, payload: bytes, qos: int) -> None:
        await self.link.publish(topic, payload, qos)

    async def _recover(self) -> None:
        wanted = self._wanted()

        def keep(record: JobRecord) -> bool:
            return record.driver_kind in PRINTS_WITHOUT_AGENT and record.printer_id in wanted

        for record in await self.jobs.recover_after_restart(keep):
            self._cooldown.add(record.printer_id)
        await self.dispatcher.answer_interrupted()

    # --- MQTT in ---------------------------------------------------------------------

    def _on_connected(self, session: int) -> None:
        # Re-sync after every (re)connect: retained states again, then the outbox, from its
        # oldest row: what was sent on the last connection may never have reached the cloud.
        self.reporter.connected()
        self.outbox.resend("reconnected")

    async def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            if topic == self._commands_topic:
                await self.dispatcher.handle(payload)
            elif topic == self._config_topic:
                await self._desired_config(payload)
            elif topic == self._acks_topic:
                await self._event_ack(payload)
            else:
                log.debug("ignored a message on %s", topic)
        except Exception:
            # Whatever one message does, the link keeps reading the next.
            log.exception("handling a message on %s failed", topic)

    async def _desired_config(self, payload: bytes) -> None:
        if await self.desired.offer(payload):
            self.outbox.set_keep_until_acked(self.desired.event_acks)
            self._reconcile.set()

    async def _event_ack(self, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained message
        try:
            ack: EventAck = decode_ack(payload)
        except WireDecodeError as exc:
            log.warning("ignored a malformed event acknowledgement: %s", exc.reason)
            return
        deleted = await self.outbox.acknowledge(ack.applied_seq, asyncio.get_running_loop().time())
        log.debug("the cloud applied events up to #%d (%d deleted)", ack.applied_seq, deleted)
        if ack.resend:
            self.outbox.resend("the cloud asked")

    def _wanted(self) -> dict[str, PrinterConfig]:
        wanted = self.desired.printers()
        for local in self.config.printers:
            if local.printer_id in wanted and local.printer_id not in self._waiting_logged:
                log.info("printer %s: the local config overrides the cloud's", local.printer_id)
            wanted[local.printer_id] = local.to_wire()
        return wanted

    # --- supervisors -------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        while True:
            await self._reconcile.wait()
            self._reconcile.clear()
            await self._apply(self._wanted())

    async def _apply(self, wanted: dict[str, PrinterConfig]) -> None:
        before = set(self._running)
        await self._apply_changes(wanted)
        if set(self._running) != before:
            await self.link.announce()
        self._tell_unreadable(wanted)

    def _tell_unreadable(self, wanted: dict[str, PrinterConfig]) -> None:
        """Each printer this version cannot read says so in its retained state, so the
        dashboards show why it stays offline (the log alone reaches no one at the farm)."""
        for printer_id, reason in self.desired.unreadable.items():
            if printer_id in wanted or self._unreadable_told.get(printer_id) == reason:
                continue
            self._unreadable_told[printer_id] = reason
            self.reporter.remove_source(
                printer_id,
                PrinterState(
                    printer_id=printer_id,
                    status=PrinterStatus.OFFLINE,
                    connected=False,
                    ts=convert.utc_now(),
                    session=self.link.session,
                    message=f"agent {__version__} cannot drive this printer "
                    f"(a newer agent may): {reason}",
                ),
            )

    async def _apply_changes(self, wanted: dict[str, PrinterConfig]) -> None:
        for pid, running in list(self._running.items()):
            want = wanted.get(pid)
            have = running.supervisor.printer
            if want == have:
                continue
            if want is not None and want.connection == have.connection:
                running.supervisor.printer = want  # a new name or model: no reconnect
                continue
            if await self.jobs.current(pid) is not None:
                if pid not in self._waiting_logged:
                    log.info("printer %s: config change waits for the current job", pid)
                    self._waiting_logged.add(pid)
                continue
            self._waiting_logged.discard(pid)
            await self._stop_supervisor(pid, final="removed from this agent's configuration")
        for pid, printer in wanted.items():
            if pid not in self._running:
                self._start_supervisor(printer)

    def _start_supervisor(self, printer: PrinterConfig) -> None:
        kind = connection_kind(printer)
        factory = self._drivers.get(kind)
        if factory is None:
            log.error("printer %s: no driver for connection kind %s", printer.printer_id, kind)
            return
        supervisor = PrinterSupervisor(
            printer,
            factory=factory,
            services=self._services,
            reporter=self.reporter,
            jobs=self.jobs,
            files=self.files,
            settings=SupervisorSettings(telemetry_interval_s=self.config.telemetry_interval_s),
            on_job_end=self._reconcile.set,
        )
        if printer.printer_id in self._cooldown:
            self._cooldown.discard(printer.printer_id)
            supervisor.cooldown_on_connect = True
        task = self._tg.create_task(self._keep(supervisor), name=f"printer:{printer.printer_id}")
        self._running[printer.printer_id] = _Running(supervisor, task)
        log.info("printer %s (%s): supervising over %s", printer.printer_id, printer.name, kind)

    async def _keep(self, supervisor: PrinterSupervisor) -> None:
        backoff = Backoff(base_s=1.0, cap_s=60.0)
        while True:
            try:
                await supervisor.run()
            except Exception:
                # Only this printer restarts; the others never notice.
                log.exception("printer %s: supervisor failed; restarting", supervisor.printer_id)
            await asyncio.sleep(backoff.next_delay_s())  # backoff, not synchronisation

    async def _stop_supervisor(self, printer_id: str, *, final: str | None) -> None:
        running = self._running.pop(printer_id, None)
        if running is None:
            return
        running.task.cancel()
        try:
            async with asyncio.timeout(STOP_SUPERVISOR_TIMEOUT_S):
                await asyncio.wait({running.task})
        except TimeoutError:
            log.error("printer %s: supervisor did not stop in time", printer_id)
        if final is not None:
            log.info("printer %s: %s", printer_id, final)
            state = PrinterState(
                printer_id=printer_id,
                status=PrinterStatus.OFFLINE,
                connected=False,
                ts=convert.utc_now(),
                session=self.link.session,
                message=final,
            )
            self.reporter.remove_source(printer_id, state)

    async def _prune_loop(self) -> None:
        while True:
            pruned = await self.ledger.prune_commands()
            if pruned:
                log.info("forgot %d old command(s)", pruned)
            await asyncio.sleep(PRUNE_INTERVAL_S)  # a period, not synchronisation
