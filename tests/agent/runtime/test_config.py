from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import (
    ConfigError,
    broker_endpoint,
    listen_address,
    load_config,
    parse_config,
    redact_url,
)
from shared.wire import BambuConnection, OctoPrintConnection, SerialConnection

GOOD = """
agent_id = "agt_shop1"
org_id = "org_1"
data_dir = "/var/lib/apf"
log_level = "DEBUG"

[mqtt]
url = "mqtts://agent:s3cret@broker.example:8884"

[[printers]]
printer_id = "prt_a"
name = "Prusa A"
connection = { kind = "serial", port = "/dev/ttyACM0", baud = 115200, profile = "prusa" }

[[printers]]
printer_id = "prt_b"
name = "Ender B"
connection = { kind = "octoprint", url = "http://10.0.0.5", api_key = "OCTOKEY" }
"""


def test_a_full_config_decodes_into_typed_values() -> None:
    config = parse_config(GOOD)
    assert config.agent_id == "agt_shop1"
    assert config.log_level == "DEBUG"
    endpoint = broker_endpoint(config.mqtt)
    assert (endpoint.host, endpoint.port, endpoint.tls) == ("broker.example", 8884, True)
    assert (endpoint.username, endpoint.password) == ("agent", "s3cret")
    first, second = (p.to_wire() for p in config.printers)
    assert first.connection == SerialConnection(port="/dev/ttyACM0", baud=115200, profile="prusa")
    assert second.connection == OctoPrintConnection(url="http://10.0.0.5", api_key="OCTOKEY")
    assert config.mqtt_client_id == "agt_shop1"


def test_an_unknown_key_stops_start_up_naming_it() -> None:
    text = GOOD.replace('url = "mqtts://', 'pasword = "x"\nurl = "mqtts://')
    with pytest.raises(ConfigError, match=r"unknown field `pasword`.*\$\.mqtt"):
        parse_config(text, "agent.toml")


def test_a_wrong_type_names_the_key() -> None:
    text = GOOD.replace("baud = 115200", 'baud = "fast"')
    with pytest.raises(ConfigError, match=r"baud"):
        parse_config(text)


def test_an_unknown_connection_kind_is_refused() -> None:
    text = GOOD.replace('kind = "serial"', 'kind = "duet"')
    with pytest.raises(ConfigError, match="kind"):
        parse_config(text)


BAMBU = """
[[printers]]
printer_id = "prt_c"
name = "X1C"
[printers.connection]
kind = "bambu"
host = "192.168.1.40"
serial = "01S00A123456789"
access_code = "ab12CD34"
"""


def test_a_bambu_printer_becomes_a_bambu_connection_with_the_printers_own_ports() -> None:
    config = parse_config(GOOD + BAMBU)
    assert config.printers[2].to_wire().connection == BambuConnection(
        host="192.168.1.40", serial="01S00A123456789", access_code="ab12CD34"
    )
    assert "ab12CD34" not in repr(config.printers[2])
    colons = ":".join(["AB"] * 32)
    pinned = BAMBU + f'mqtt_port = 18883\nftps_port = 10990\nfingerprint = "{colons}"\n'
    conn = parse_config(GOOD + pinned).printers[2].to_wire().connection
    assert conn == BambuConnection(
        host="192.168.1.40",
        serial="01S00A123456789",
        access_code="ab12CD34",
        mqtt_port=18883,
        ftps_port=10990,
        fingerprint="ab" * 32,
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (('serial = "01S00A123456789"', 'serial = "01S-00A"'), "serial"),
        (("kind", "ftps_port = 0\nkind"), "ftps_port"),
        (("kind", 'fingerprint = "abc"\nkind'), "fingerprint"),
        (("kind", 'url = "http://x"\nkind'), "url"),
        (('access_code = "ab12CD34"\n', ""), "access_code"),
    ],
)
def test_a_bad_bambu_printer_stops_start_up_naming_the_key(
    change: tuple[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_config(GOOD + BAMBU.replace(*change))


def test_a_bad_broker_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="mqtt://"):
        parse_config(GOOD.replace("mqtts://", "http://"))


def test_a_ca_file_needs_mqtts_and_must_exist(tmp_path: Path) -> None:
    plain = GOOD.replace("mqtts://", "mqtt://").replace(
        "[mqtt]\n", f'[mqtt]\nca_file = "{tmp_path}/ca.pem"\n'
    )
    with pytest.raises(ConfigError, match="not mqtts"):
        parse_config(plain)
    missing = GOOD.replace("[mqtt]\n", f'[mqtt]\nca_file = "{tmp_path}/ca.pem"\n')
    with pytest.raises(ConfigError, match="no such file"):
        parse_config(missing)


def test_duplicate_printer_ids_are_refused() -> None:
    with pytest.raises(ConfigError, match="prt_a"):
        parse_config(GOOD.replace('printer_id = "prt_b"', 'printer_id = "prt_a"'))


def test_invalid_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("agent_id = ")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_password_file_is_read_and_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    text = GOOD.replace("agent:s3cret@", "").replace(
        "[mqtt]\n", f'[mqtt]\nusername = "u"\npassword_file = "{secret}"\n'
    )
    config = parse_config(text)
    endpoint = broker_endpoint(config.mqtt)
    assert endpoint.password == "from-file"
    for shown in (repr(endpoint), repr(config.mqtt), repr(config.printers[1].connection)):
        assert "from-file" not in shown and "OCTOKEY" not in shown and "s3cret" not in shown


def test_redact_url_drops_credentials_and_signature() -> None:
    url = "https://user:pw@cloud.example:8443/v1/files/f1?expires=1&signature=abc"
    assert redact_url(url) == "https://cloud.example:8443/v1/files/f1?…"


def test_apf_agent_run_stops_with_status_2_naming_the_bad_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from apf.main import main

    config = tmp_path / "agent.toml"
    config.write_text(GOOD.replace('log_level = "DEBUG"', 'log_level = "DEBUG"\ncolour = "red"'))
    assert main(["agent", "run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "agent.toml" in err and "colour" in err


def test_apf_agent_run_explains_an_unusable_data_dir_or_ca_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from apf.main import main

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    base = f'agent_id = "a"\norg_id = "o"\ndata_dir = "{not_a_dir}"\n'
    config = tmp_path / "agent.toml"
    config.write_text(base + '[mqtt]\nurl = "mqtt://127.0.0.1:9"\n')
    assert main(["agent", "run", "--config", str(config)]) == 1
    assert "cannot use the data directory" in capsys.readouterr().err

    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate")
    base = base.replace(str(not_a_dir), str(tmp_path / "data"))
    config.write_text(base + f'[mqtt]\nurl = "mqtts://127.0.0.1:9"\nca_file = "{bad_ca}"\n')
    assert main(["agent", "run", "--config", str(config)]) == 1
    assert "TLS certificates" in capsys.readouterr().err


def test_metrics_are_off_unless_a_listen_address_is_set() -> None:
    config = parse_config(GOOD)
    assert config.metrics.listen is None
    assert listen_address(config.metrics) is None


@pytest.mark.parametrize(
    ("listen", "address"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("localhost:9464", ("localhost", 9464)),
        ("0.0.0.0:9464", ("0.0.0.0", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
    ],
)
def test_a_metrics_listen_address_is_host_and_port(listen: str, address: tuple[str, int]) -> None:
    config = parse_config(GOOD + f'\n[metrics]\nlisten = "{listen}"\n')
    assert listen_address(config.metrics) == address


@pytest.mark.parametrize(
    "listen", ["9464", "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:99999", "::1:9464", "a b:1"]
)
def test_a_bad_metrics_listen_address_is_a_clear_error(listen: str) -> None:
    text = GOOD + f'\n[metrics]\nlisten = "{listen}"\n'
    with pytest.raises(ConfigError, match=r"agent\.toml: metrics\.listen: expected host:port"):
        parse_config(text, "agent.toml")


def test_an_unknown_metrics_key_is_refused() -> None:
    text = GOOD + "\n[metrics]\nport = 9464\n"
    with pytest.raises(ConfigError, match=r"unknown field `port`.*\$\.metrics"):
        parse_config(text, "agent.toml")
