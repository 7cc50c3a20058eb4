"""What a user meets when starting the demo: the API's port (8000 taken, or the one asked
for with --port taken), and the URL and key it prints, whose rate limit the demo leaves
alone."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from apf.demo.ports import DEFAULT_API_PORT, api_listener

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_S = 60


def _listening() -> socket.socket:
    """A port someone else serves on: bound and listening on 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def _port(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


def _demo_command(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "apf", "demo", "--data-dir", str(tmp_path / "demo"), *args]


def test_a_port_asked_for_and_taken_ends_the_demo_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "kept").write_text("the last run's data")
    with _listening() as taken:
        port = _port(taken)
        done = subprocess.run(
            _demo_command(tmp_path, "--headless", "--port", str(port)),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"apf demo: port {port} is already in use; choose another with --port N "
        "(--port 0: any free port)"
    ]
    assert "API URL" not in done.stdout
    # Refused before anything started: the data folder is not emptied for nothing.
    assert (tmp_path / "demo" / "kept").exists()


def test_a_taken_default_port_gives_a_free_one_and_says_so() -> None:
    with _listening() as taken:
        default = _port(taken)
        sock, note = api_listener(None, default_port=default)
        with sock:
            used = _port(sock)
            assert used != default and sock.getsockname()[0] == "127.0.0.1"
            assert note == f"Port {default} is already in use; the API uses port {used} instead."
            sock.listen()
            socket.create_connection(("127.0.0.1", used), timeout=5).close()


def test_a_free_default_port_is_used_without_a_note() -> None:
    with _listening() as probe:
        free = _port(probe)
    sock, note = api_listener(None, default_port=free)
    with sock:
        assert (_port(sock), note) == (free, "")


@dataclass
class RunningDemo:
    proc: subprocess.Popen[str]
    stderr_path: Path
    header: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        prefix = f"{name}: "
        line = next((h for h in self.header if h.startswith(prefix)), None)
        assert line is not None, f"no {name!r} line in {self.header}; {self.stderr_tail()}"
        return line.removeprefix(prefix)

    def stderr_tail(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def wait_for_view_lines(self, count: int) -> None:
        """Read the live view until it has written `count` lines. Off a terminal it writes
        a line per printer or job that changed since its last poll of the API."""
        assert self.proc.stdout is not None
        seen = 0
        for line in self.proc.stdout:
            seen += line.startswith(("printer ", "job "))
            if seen >= count:
                return
        raise AssertionError(f"the demo ended after {seen} view lines: {self.stderr_tail()}")


@contextlib.contextmanager
def running_demo(tmp_path: Path, *args: str) -> Iterator[RunningDemo]:
    """`apf demo` with its live view, until its header (up to the `MQTT URL:` line) is read;
    stopped with SIGTERM at the end."""
    stderr_path = tmp_path / "demo.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            _demo_command(tmp_path, *args),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    demo = RunningDemo(proc, stderr_path)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            demo.header.append(line.rstrip("\n"))
            if line.startswith("MQTT URL: "):
                break
        yield demo
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=CLI_TIMEOUT_S)


@contextlib.contextmanager
def _held(port: int) -> Iterator[None]:
    """`port` taken for the block: by this test, or already by someone else."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
    except OSError:
        pass  # taken already, which is what the test needs
    try:
        yield
    finally:
        sock.close()


@pytest.mark.slow
def test_the_demo_on_a_taken_8000_serves_on_the_port_it_prints(tmp_path: Path) -> None:
    with _held(DEFAULT_API_PORT), running_demo(tmp_path) as demo:
        url, key = demo.value("API URL"), demo.value("API key")
        used = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/v1", url)
        assert used is not None and int(used[1]) != DEFAULT_API_PORT, url
        note = f"Port {DEFAULT_API_PORT} is already in use; the API uses port {used[1]} instead."
        assert demo.header[0] == note
        answer = httpx.get(f"{url}/organization", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200 and answer.json()["name"] == "Demo Farm"


@pytest.mark.slow
def test_the_printed_key_keeps_its_rate_limit_while_the_view_refreshes(tmp_path: Path) -> None:
    with running_demo(tmp_path, "--port", "0") as demo:
        # The first poll writes a line per printer (3) and per job (6); more lines mean
        # more polls, two calls each, all on the demo's own key.
        demo.wait_for_view_lines(3 + 6 + 6)
        answer = httpx.get(
            f"{demo.value('API URL')}/organization",
            headers={"Authorization": f"Bearer {demo.value('API key')}"},
        )
    assert answer.status_code == 200, answer.text
    # This request is the key's first: the demo spent none of its budget.
    assert int(answer.headers["RateLimit-Limit"]) == 600
    assert int(answer.headers["RateLimit-Remaining"]) == 600 - 1


def _sample(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


@pytest.mark.slow
def test_the_demo_prints_a_metrics_line_whose_series_move(tmp_path: Path) -> None:
    with running_demo(tmp_path, "--port", "0") as demo:
        command = demo.value("Metrics")
        found = re.fullmatch(r"curl -H 'Authorization: Bearer (\S+)' (\S+/metrics)", command)
        assert found is not None, command
        token, url = found[1], found[2]
        assert httpx.get(url).status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        demo.wait_for_view_lines(3 + 6)  # the printers are registered and shown
        first = httpx.get(url, headers=headers)
        assert first.status_code == 200, first.text
        assert _sample(first.text, "apf_printers") == 3  # the demo's printers, by status
        # The live view polls the printers once a second: their counter moves.
        demo.wait_for_view_lines(6)
        second = httpx.get(url, headers=headers).text
        route = {"method": "GET", "route": "/v1/printers"}
        assert _sample(second, "apf_http_requests_total", **route) > _sample(
            first.text, "apf_http_requests_total", **route
        )
