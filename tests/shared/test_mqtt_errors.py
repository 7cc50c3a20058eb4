"""Broker connection failures are explained with the setting that fixes them."""

from __future__ import annotations

from shared.mqtt_errors import explain


def test_an_untrusted_certificate_names_the_ca_setting() -> None:
    said = explain(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
        broker="mqtts://b:8883",
        username="agt_1",
        ca_setting="APF_MQTT_CA_FILE",
    )
    assert said.needs_operator and "APF_MQTT_CA_FILE" in said.message


def test_a_refused_login_names_the_user_and_the_likely_causes() -> None:
    for error in ("[code:135] Not authorized", "Connection refused: not authorised"):
        said = explain(error, broker="mqtt://b", username="agt_1", ca_setting="x")
        assert said.needs_operator and "'agt_1'" in said.message and "revoked" in said.message


def test_other_errors_pass_through_as_retryable() -> None:
    said = explain("Connection refused", broker="mqtt://b", username=None, ca_setting="x")
    assert not said.needs_operator and said.message == "Connection refused"
