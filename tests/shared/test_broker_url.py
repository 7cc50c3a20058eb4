from __future__ import annotations

import pytest

from shared.broker_url import BrokerAddress, BrokerUrlError, parse_broker_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1", BrokerAddress("127.0.0.1", 1883, False)),
        ("mqtts://broker.example:9000", BrokerAddress("broker.example", 9000, True)),
        ("mqtts://b.example", BrokerAddress("b.example", 8883, True)),
        ("mqtt://agt_1:p%40ss@h:1884", BrokerAddress("h", 1884, False, "agt_1", "p@ss")),
    ],
)
def test_parses(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    "url", ["http://h", "mqtt://", "mqtt://h:99999", "mqtt://h/path", "h:1883", "mqtt://h?x=1"]
)
def test_rejects_with_a_clear_error(url: str) -> None:
    with pytest.raises(BrokerUrlError):
        parse_broker_url(url)


def test_redacted_never_shows_the_password() -> None:
    address = parse_broker_url("mqtt://u:secret@h")
    assert "secret" not in address.redacted()
    assert address.redacted() == "mqtt://u@h:1883"
