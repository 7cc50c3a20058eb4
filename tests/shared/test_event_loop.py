"""Which event loop the commands run on, and what a wrong APF_EVENT_LOOP says."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from shared import event_loop

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_asyncio_is_chosen_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV_VAR, "asyncio")
    assert event_loop.chosen_loop() == "asyncio"
    assert event_loop.run(_loop_module()).startswith("asyncio")


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed here")
def test_uvloop_is_the_default_where_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV_VAR, raising=False)
    assert event_loop.chosen_loop() == "uvloop"
    assert event_loop.run(_loop_module()).startswith("uvloop")


def test_an_unknown_choice_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV_VAR, "trio")
    with pytest.raises(event_loop.EventLoopChoiceError, match="APF_EVENT_LOOP='trio'"):
        event_loop.run(_loop_module())


def test_the_command_line_reports_a_wrong_choice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from apf.main import main

    monkeypatch.setenv(event_loop.ENV_VAR, "fastest")
    assert main(["serial", "probe", "/dev/null-not-a-port"]) == 2
    assert "APF_EVENT_LOOP='fastest'" in capsys.readouterr().err
