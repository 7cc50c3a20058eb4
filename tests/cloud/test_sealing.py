"""Secrets at rest: sealed values open only with a key of the ring, only for their place."""

from __future__ import annotations

import pytest

from cloud.sealing import SealError, SecretBox, SecretsKeyError, new_key_hex, parse_key

SIGNING = "s" * 32


def test_a_sealed_value_opens_for_its_purpose_and_hides_the_plaintext() -> None:
    box = SecretBox.from_settings("", [], SIGNING)
    sealed = box.seal("OCTOPRINT-KEY-123", "printer:prt_1:secret")
    assert "OCTOPRINT" not in sealed and sealed.startswith(f"v1:{box.current_key_id}:")
    assert box.open(sealed, "printer:prt_1:secret") == "OCTOPRINT-KEY-123"
    assert box.seal("x", "p") != box.seal("x", "p")  # a fresh nonce each time


def test_a_value_moved_to_another_row_or_tampered_with_does_not_open() -> None:
    box = SecretBox.from_settings("", [], SIGNING)
    sealed = box.seal("key", "printer:prt_1:secret")
    with pytest.raises(SealError, match="another place"):
        box.open(sealed, "printer:prt_2:secret")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealError):
        box.open(flipped, "printer:prt_1:secret")
    with pytest.raises(SealError, match="not a sealed value"):
        box.open("plain-text-key", "printer:prt_1:secret")


def test_rotation_keeps_old_values_readable_until_resealed() -> None:
    old_key, new_key = new_key_hex(), new_key_hex()
    before = SecretBox.from_settings(old_key, [], SIGNING)
    sealed = before.seal("key", "p")
    after = SecretBox.from_settings(new_key, [old_key], SIGNING)
    assert after.open(sealed, "p") == "key"
    assert not after.is_current(sealed)
    assert after.is_current(after.seal("key", "p"))
    with pytest.raises(SealError, match="not configured"):
        SecretBox.from_settings(new_key, [], SIGNING).open(sealed, "p")


def test_values_sealed_under_the_derived_key_open_after_setting_an_explicit_one() -> None:
    derived = SecretBox.from_settings("", [], SIGNING)
    sealed = derived.seal("key", "p")
    assert SecretBox.from_settings(new_key_hex(), [], SIGNING).open(sealed, "p") == "key"


@pytest.mark.parametrize("text", ["", "abc", "zz" * 32, "ab" * 31])
def test_a_bad_key_setting_is_named(text: str) -> None:
    with pytest.raises(SecretsKeyError, match="secrets_key"):
        parse_key(text, "secrets_key")
