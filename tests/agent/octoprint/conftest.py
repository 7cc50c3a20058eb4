"""One real OctoPrint for the whole session (it takes seconds to start), reset per test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.agent.octoprint.server import OctoPrintServer, install_octoprint

_BUSY_STATES = ("Printing", "Paused", "Pausing", "Cancelling", "Resuming", "Starting", "Finishing")


@pytest.fixture(scope="session")
def octoprint_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OctoPrintServer]:
    server = OctoPrintServer(install_octoprint(), tmp_path_factory.mktemp("octoprint"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def octoprint(octoprint_server: OctoPrintServer) -> OctoPrintServer:
    """The session's OctoPrint, running and not printing (a test may have killed it)."""
    server = octoprint_server
    if not server.running:
        server.start()
    if server.state_text() in _BUSY_STATES:
        server.api("POST", "/api/job", json={"command": "cancel"})
    deadline = time.monotonic() + 30
    while server.state_text() in _BUSY_STATES:
        assert time.monotonic() < deadline, "OctoPrint did not stop printing"
        time.sleep(0.1)  # polling a condition with a deadline
    return server
