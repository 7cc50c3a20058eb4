"""The access log never carries a download link's signature."""

from __future__ import annotations

import logging

from cloud.server import RedactSignatures


def test_signatures_are_redacted_from_access_log_records() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/files/fil_x?expires=17&signature=c2VjcmV0", "1.1", 200),
        None,
    )
    assert RedactSignatures().filter(record)
    message = record.getMessage()
    assert "c2VjcmV0" not in message
    assert "/v1/files/fil_x?expires=17&signature=…" in message
