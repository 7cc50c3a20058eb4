"""Suites against real third-party peers that must not reach the network.

Klipper, Moonraker and PrusaLink look up names and announce themselves when left alone, so
they run only in a network namespace with loopback alone: `scripts/test-peers` runs this folder
that way (and `scripts/test` runs it beside the main suite). Anywhere else every test here
is skipped with the reason.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support.bambu import CLIENTS_VENV
from tests.support.klipper_stack import KlipperStack, isolated, prepare
from tests.support.klipper_stack import unavailable_reason as klipper_unavailable
from tests.support.ports import free_port
from tests.support.prusalink_peer import START_WITHIN_S, PrusaLinkPeer
from tests.support.prusalink_peer import unavailable_reason as prusalink_unavailable


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test here skips, saying why, where its peer cannot run. A PrusaLink test may
    wait up to `START_WITHIN_S` for a fresh PrusaLink before it starts: its time limit
    covers that wait and the test."""
    reasons = {
        "test_moonraker": klipper_unavailable(),
        "test_prusalink": prusalink_unavailable(),
        "test_bambu": bambu_clients_unavailable(),
    }
    here = Path(__file__).parent
    for item in items:
        if here not in Path(item.path).parents:
            continue
        for prefix, reason in reasons.items():
            if Path(item.path).name.startswith(prefix) and reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
        if Path(item.path).name.startswith("test_prusalink"):
            item.add_marker(pytest.mark.timeout(START_WITHIN_S + 120))
            # PrusaLink 0.8.1 now and then stalls on this loaded two-core machine (a start
            # unanswered for 60 s; BUSY for 180 s after a restart): twice in some 80 of its
            # tests in full runs, not in 35 fresh starts beside the other lanes alone (so
            # not diagnosed). One more try, on a fresh
            # PrusaLink; the stalled try's logs are written out (`prusalink` below) so the
            # stall can be explained. A regression fails both tries.
            item.add_marker(pytest.mark.flaky(reruns=1))


def bambu_clients_unavailable() -> str | None:
    if not (CLIENTS_VENV / "bin" / "python").exists():
        return "the Bambu client libraries are not installed: scripts/install-bambu-clients"
    if not isolated():
        return "the Bambu clients use the printer's fixed ports: run in scripts/test-peers"
    return None


@pytest.fixture(scope="session")
def klipper_prepared() -> None:
    prepare()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short data directory: Moonraker's and Klippy's unix sockets live in it, and a
    socket path is limited to 107 bytes (pytest's tmp_path can be longer)."""
    path = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def klipper(klipper_prepared: None, short_dir: Path) -> Iterator[KlipperStack]:
    """A fresh Klipper + Moonraker, ready, for one test."""
    stack = KlipperStack(short_dir, free_port())
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed PrusaLink test writes the end of PrusaLink's and the simulator's logs while
    they are still there (its data dir goes with the test)."""
    report = yield
    peer = getattr(item, "funcargs", {}).get("prusalink")
    if report.failed and isinstance(peer, PrusaLinkPeer):
        # A retried failure's own text is not in the summary: its last lines say why. In
        # teardown the data dir may be gone already; the failure's text is still there.
        why = "\n".join(report.longreprtext.splitlines()[-12:])
        show_logs(item.config, item.nodeid, peer, f"failed in {report.when}:\n{why}\n")
    return report


@pytest.fixture
def prusalink(request: pytest.FixtureRequest) -> Iterator[PrusaLinkPeer]:
    """PrusaLink on a fresh simulated MK3S, IDLE, for one test. Its data dir is not under
    /tmp: PrusaLink refuses storage there. When it does not start, the end of its and the
    simulator's logs are written out (a failed test's: pytest_runtest_makereport above)."""
    path = Path(tempfile.mkdtemp(prefix="apf-prusalink-", dir="/var/tmp"))
    peer = PrusaLinkPeer(path, free_port())
    try:
        try:
            peer.start()
        except Exception:
            show_logs(request.config, request.node.nodeid, peer, "could not start PrusaLink")
            raise
        yield peer
    finally:
        peer.stop()
        shutil.rmtree(path, ignore_errors=True)


def show_logs(config: pytest.Config, nodeid: str, peer: PrusaLinkPeer, what: str) -> None:
    # Past the capture: a failed try that is tried again shows no captured output.
    terminal = config.get_terminal_writer()
    terminal.line(f"\n--- {nodeid} {what}")
    # PrusaLink's debug lines (logged as WARNING "Was[DEBUG]") fill 80 lines within a
    # fraction of a second: its own warnings and errors over a longer stretch say more.
    tail = peer.log_tail(4000).splitlines()
    own = [line for line in tail if _said(line)]
    terminal.line("--- PrusaLink's log without its debug lines and thread dumps (end):")
    terminal.line("\n".join(own[-60:]))
    terminal.line("--- PrusaLink's log (end):")
    terminal.line("\n".join(tail[-25:]))
    terminal.line("--- the end of the simulator's log:")
    terminal.line(peer.log_tail(40, "sim.log"))


def _said(line: str) -> bool:
    """A line of PrusaLink's log in its own words: not a debug line, nor a line of the
    thread stacks its serial queue's stall check dumps (`sq_stall_recovery`)."""
    if "Was[DEBUG]" in line:
        return False
    message = line.partition("]: ")[2]
    return bool(message.strip()) and not message.startswith(" ") and "stack trace:" not in message
