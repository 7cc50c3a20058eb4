"""What both client scripts share: arguments, one JSON line per step, bounded waits.

Run under .cache/bambu-clients-venv's Python (scripts/install-bambu-clients), never ours:
the libraries and their dependencies must not meet our environment.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--serial", required=True)
    parser.add_argument("--access-code", required=True)
    parser.add_argument("--file", required=True, help="a .gcode.3mf to upload and print")
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser.parse_args()


def step(name: str, **details: Any) -> None:
    print(json.dumps({"step": name, **details}), flush=True)


def wait_for(what: str, check: Callable[[], Any], timeout_s: float) -> Any:
    """Poll a client library's state (they offer no other way to wait) until `check` is
    truthy; fail the script with `what` when it is not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    step("timeout", waiting_for=what)
    sys.exit(1)
