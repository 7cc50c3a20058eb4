"""A cloud replica: a real `apf cloud serve` process on a free loopback port, for the replica
test and bench/replicas.py."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_for_listener

REPO = Path(__file__).resolve().parents[2]
# What the bridge logs (at INFO) once it has subscribed (cloud/bridge/mqtt.py).
_LINK_UP = "MQTT link up"


@dataclass(frozen=True, slots=True)
class Replica:
    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def cloud_replica(
    env: dict[str, str], log: Path, *, wait_for_bridge: bool = False
) -> Iterator[Replica]:
    """Serve until the block ends (SIGTERM, then SIGKILL after 20 s), output into `log`.

    `wait_for_bridge`: return only once the replica's bridge has subscribed to the agents'
    topics (a message published before that goes to the other replicas, or nowhere)."""
    port = free_port()
    level = ["--log-level", "INFO"] if wait_for_bridge else []
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apf", *level, "cloud", "serve", "--port", str(port)],
            cwd=REPO,
            env={**env, "APF_PUBLIC_URL": f"http://127.0.0.1:{port}"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_listener("127.0.0.1", port, 60, alive=proc)
        deadline = time.monotonic() + 30
        while wait_for_bridge and _LINK_UP not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the replica's bridge did not connect:\n{log.read_text()}")
            time.sleep(0.05)  # polling the log for the bridge, bounded by the deadline
        yield Replica(f"http://127.0.0.1:{port}", proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
