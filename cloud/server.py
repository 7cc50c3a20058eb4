"""Run the app on uvicorn with uvloop and httptools where installed.

uvicorn was chosen for its maturity and its uvloop/httptools fast path (Litestar's own
benchmarks run on uvicorn + uvloop, field-notes §5.6); figures in docs/api.md.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re

from cloud.settings import Settings

_FACTORY = "cloud.server:app_from_environment"
_SETTINGS_ENV = "APF_CLOUD_SETTINGS_JSON"
_SIGNATURE = re.compile(r"(signature=)[^&\s]+")


class RedactSignatures(logging.Filter):
    """A signed download link works for anyone who has it until it expires: keep its
    signature out of the access log (uvicorn logs every request's full path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SIGNATURE.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def app_from_environment() -> object:
    """uvicorn factory for worker processes: the settings travel as JSON in the environment."""
    import msgspec

    from cloud.app import create_app

    settings = msgspec.json.decode(os.environ[_SETTINGS_ENV], type=Settings)
    logging.getLogger("uvicorn.access").addFilter(RedactSignatures())
    return create_app(settings)


def run_server(settings: Settings, *, workers: int = 1) -> None:
    import msgspec
    import uvicorn

    os.environ[_SETTINGS_ENV] = msgspec.json.encode(settings).decode()
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    uvicorn.run(
        _FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        loop=loop,
        http=http,
        log_level="info",
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
