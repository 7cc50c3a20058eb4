"""Run inside a private network namespace (``unshare --net``): load an nftables ruleset,
start Mosquitto with dynamic security on 127.0.0.1:8883, try many logins with a wrong
password as fast as a guesser would, and print as JSON how many reached the broker.

``python -m tests.support.firewall_probe RULES_FILE WORKDIR ATTEMPTS``. Only loopback exists
in the namespace; nothing leaves it.
"""

from __future__ import annotations

import getpass
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from shared.mqtt.packets import Connack, Connect, PacketReader, encode_connect
from tests.support.broker import DYNSEC_PLUGIN, dynsec_file
from tests.support.ports import wait_for_listener

PORT = 8883
CONNECT_TIMEOUT_S = 0.3


def attempt(password: str) -> int | None:
    """The CONNACK code, or None when the connection was not let through."""
    try:
        sock = socket.create_connection(("127.0.0.1", PORT), timeout=CONNECT_TIMEOUT_S)
    except OSError:
        return None
    with sock:
        sock.settimeout(5)
        sock.sendall(
            encode_connect(Connect("MQTT", 4, "guess", True, 30, "apf-admin", password.encode()))
        )
        reader = PacketReader()
        while True:
            data = sock.recv(1024)
            if not data:
                return None
            reader.feed(data)
            packet = reader.next_packet()
            if isinstance(packet, Connack):
                return int(packet.code)


def main() -> None:
    rules, workdir, attempts = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["nft", "-f", str(rules)], check=True)
    dynsec_file(workdir / "dynamic-security.json", "apf-admin", "the-right-password")
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"per_listener_settings false\nallow_anonymous false\nuser {getpass.getuser()}\n"
        f"plugin {DYNSEC_PLUGIN}\nplugin_opt_config_file {workdir / 'dynamic-security.json'}\n"
        f"listener {PORT} 127.0.0.1\n"
    )
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        wait_for_listener("127.0.0.1", PORT, 15, alive=broker)
        started = time.monotonic()
        codes = [attempt(f"guess-{i}") for i in range(attempts)]
        elapsed_s = time.monotonic() - started
    finally:
        broker.terminate()
        broker.wait(timeout=10)
    print(
        json.dumps(
            {
                "answered": sum(c is not None for c in codes),
                "refused_logins": sum(c == 5 for c in codes),
                "not_let_through": sum(c is None for c in codes),
                "elapsed_s": round(elapsed_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
