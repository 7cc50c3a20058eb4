"""`APF_LOG_FORMAT=json`: one JSON object per line, with the ids in play."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from shared.logs import LogFormatError, bind_log_ids, configure_logging, log_context


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setenv("APF_LOG_FORMAT", "json")
    out = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("INFO", stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _records(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_line_is_a_json_object_with_time_level_logger_message(
    json_logs: io.StringIO,
) -> None:
    logging.getLogger("apf.test").warning("nozzle at %d °C", 215)
    (record,) = _records(json_logs)
    assert record["level"] == "WARNING"
    assert record["logger"] == "apf.test"
    assert record["message"] == "nozzle at 215 °C"
    offset = datetime.fromisoformat(str(record["time"])).utcoffset()
    assert offset is not None and offset.total_seconds() == 0  # UTC
    assert not {"request_id", "org_id", "agent_id", "printer_id", "job_id"} & record.keys()


async def test_ids_follow_the_context_into_tasks_and_end_with_it(json_logs: io.StringIO) -> None:
    log = logging.getLogger("apf.test")

    async def in_a_task() -> None:
        log.info("from a task")

    with log_context(agent_id="agt_1", printer_id="prt_1"):
        bind_log_ids(job_id="job_1")
        await asyncio.create_task(in_a_task())
    log.info("after")
    inside, after = _records(json_logs)
    assert inside["agent_id"] == "agt_1" and inside["printer_id"] == "prt_1"
    assert inside["job_id"] == "job_1"
    assert "printer_id" not in after and "job_id" not in after


def test_an_id_passed_as_extra_wins(json_logs: io.StringIO) -> None:
    with log_context(printer_id="prt_ctx"):
        logging.getLogger("apf.test").info("x", extra={"printer_id": "prt_extra"})
    assert _records(json_logs)[0]["printer_id"] == "prt_extra"


def test_an_exception_is_one_line_too(json_logs: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("apf.test").exception("failed")
    (record,) = _records(json_logs)
    assert "RuntimeError: boom" in str(record["exception"])


def test_the_default_format_stays_human(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APF_LOG_FORMAT", raising=False)
    out = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure_logging("INFO", stream=out)
        logging.getLogger("apf.test").info("hello")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert out.getvalue().rstrip().endswith("INFO apf.test: hello")


def test_an_unknown_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APF_LOG_FORMAT", "xml")
    with pytest.raises(LogFormatError, match="APF_LOG_FORMAT='xml'"):
        configure_logging("INFO", stream=io.StringIO())
