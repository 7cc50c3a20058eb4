"""Connection URLs checked and taken apart without a server (cloud/services/connections.py)."""

from __future__ import annotations

import pytest

from cloud.problems import Problem
from cloud.services.connections import bambu_address, origin, parse_connection

SERIAL = "01S00A123456789"


def test_a_bambu_url_gets_the_printers_own_ports_unless_it_names_others() -> None:
    conn = parse_connection(f" bambu://192.168.1.40?serial={SERIAL} ")
    assert (conn.kind, conn.url) == ("bambu", f"bambu://192.168.1.40?serial={SERIAL}")
    at = bambu_address(conn.url)
    assert (at.host, at.serial, at.mqtt_port, at.ftps_port, at.fingerprint) == (
        "192.168.1.40",
        SERIAL,
        8883,
        990,
        None,
    )
    colons = ":".join(["Ab"] * 32)
    conn = parse_connection(
        f"bambu://[fd00::40]:18883/?fingerprint={colons}&ftps_port=10990&serial={SERIAL}"
    )
    # Stored in one order, the fingerprint as the agent compares it.
    assert conn.url == (
        f"bambu://[fd00::40]:18883?serial={SERIAL}&ftps_port=10990&fingerprint={'ab' * 32}"
    )
    at = bambu_address(conn.url)
    assert (at.host, at.mqtt_port, at.ftps_port, at.fingerprint) == (
        "fd00::40",
        18883,
        10990,
        "ab" * 32,
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "needs the printer's serial number"),
        ("serial=12", "4 to 32 letters and digits"),
        ("serial=ÄBCDE", "4 to 32 letters and digits"),
        (f"serial={SERIAL}&serial=ABCD", "'serial' twice"),
        (f"serial={SERIAL}&pin=1", "Unknown Bambu Lab URL parameter 'pin'"),
        (f"serial={SERIAL}&ftps_port=0", "'ftps_port' must be a port number"),
        (f"serial={SERIAL}&ftps_port=٩٩٠", "'ftps_port' must be a port number"),
        (f"serial={SERIAL}&fingerprint=" + "a" * 63, "64 hex digits"),
        (f"serial={SERIAL}&fingerprint=", "64 hex digits"),
    ],
)
def test_a_bad_bambu_query_is_refused_saying_why(query: str, message: str) -> None:
    with pytest.raises(Problem) as refused:
        parse_connection(f"bambu://192.168.1.40?{query}")
    assert message in refused.value.message and refused.value.param == "connection_url"


def test_the_access_code_goes_to_both_ports_so_either_is_part_of_its_origin() -> None:
    here = origin(f"bambu://x1c.local?serial={SERIAL}")
    assert here == origin("bambu://X1C.local:8883?serial=ABCD&ftps_port=990")
    assert here != origin(f"bambu://x1c.local:8884?serial={SERIAL}")
    assert here != origin(f"bambu://x1c.local?serial={SERIAL}&ftps_port=991")
    assert origin("http://op.local") == ("http", "op.local", (80,))
