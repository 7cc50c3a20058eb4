from __future__ import annotations

from pathlib import Path

import pytest

from agent.serial.profiles import (
    ProfileError,
    detect_profile,
    get_profile,
    load_profile_file,
    load_profiles,
    profiles_dir,
)

EXPECTED = {"marlin", "prusa", "klipper", "reprapfirmware", "smoothieware", "repetier"}


def test_every_profile_loads_and_is_consistent() -> None:
    profiles = load_profiles()
    assert set(profiles) == EXPECTED
    for profile in profiles.values():
        assert profile.rx_budget_bytes > 0
        assert profile.link.command_queue_depth >= 1
        assert profile.commands.home
        assert profile.commands.cooldown
        assert profile.commands.emergency_stop == "M112"
        if profile.resend.style in ("resend", "rs", "silent_drop"):
            assert profile.link.line_numbers, profile.name


def test_profiles_live_in_the_repository_folder() -> None:
    assert (profiles_dir() / "marlin.toml").is_file()


@pytest.mark.parametrize(
    ("firmware_name", "profile"),
    [
        ("Marlin 2.1.2.1 (Jun  1 2023 12:00:00)", "marlin"),
        ("Prusa-Firmware 3.14.0 based on Marlin", "prusa"),
        ("Klipper", "klipper"),
        ("RepRapFirmware for Duet 3 MB6HC", "reprapfirmware"),
        ("Smoothieware", "smoothieware"),
        ("Repetier_1.0.4", "repetier"),
        ("SomethingElse 1.0", "marlin"),
    ],
)
def test_detect_profile_from_firmware_name(firmware_name: str, profile: str) -> None:
    assert detect_profile(firmware_name).name == profile


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    text = (
        (profiles_dir() / "marlin.toml")
        .read_text()
        .replace("[link]\n", "[link]\nrx_bufer_bytes = 64\n")
    )
    bad = tmp_path / "marlin.toml"
    bad.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile_file(bad)
    assert "marlin.toml" in str(info.value)
    assert "rx_bufer_bytes" in str(info.value)
    assert "$.link" in str(info.value)


def test_wrong_type_and_mismatched_name_are_errors(tmp_path: Path) -> None:
    source = (profiles_dir() / "klipper.toml").read_text()
    wrong_type = tmp_path / "klipper.toml"
    wrong_type.write_text(source.replace("rx_buffer_bytes = 4096", 'rx_buffer_bytes = "big"'))
    with pytest.raises(ProfileError, match=r"klipper\.toml"):
        load_profile_file(wrong_type)
    renamed = tmp_path / "other.toml"
    renamed.write_text(source)
    with pytest.raises(ProfileError, match="must match the file name"):
        load_profile_file(renamed)


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="marlin"):
        get_profile("nope")
