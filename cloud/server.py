"""Run the app on uvicorn with uvloop and httptools where installed.

uvicorn was chosen for its maturity and its uvloop/httptools fast path (Litestar's own
benchmarks run on uvicorn + uvloop, field-notes §5.6); figures in docs/api.md.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import re

from cloud.settings import Settings
from shared.logs import LEVEL_ENV, configure_logging

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
    configure_logging()  # a worker process starts with no logging set up; the level travels too
    logging.getLogger("uvicorn.access").addFilter(RedactSignatures())
    app = create_app(settings)
    app.on_startup.append(freeze_startup_heap)
    return app


async def freeze_startup_heap(_app: object) -> None:
    """What exists once the app has started (routes, SQLAlchemy metadata and statement
    caches, the OpenAPI schema: ~130,000 objects) lives as long as the process. Frozen out
    of the garbage collector's sight (after one collection, so no garbage is kept), a full
    collection no longer walks it: under load each such walk paused the event loop ~75 ms,
    the printers list's worst latencies in bench/api.py. A server process only: tests
    build many apps in one process and must keep collecting them."""
    gc.collect()
    gc.freeze()


def run_server(settings: Settings, *, workers: int = 1) -> None:
    import msgspec

    os.environ[_SETTINGS_ENV] = msgspec.json.encode(settings).decode()
    os.environ[LEVEL_ENV] = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    if not settings.metrics_token:
        _run_uvicorn(settings, workers)
        return
    # Metrics on: every worker (one or several, the same way) writes its values to a fresh
    # directory that each scrape sums (cloud/metrics/multiproc.py), set before they start.
    from cloud.metrics.multiproc import private_multiproc_dir

    with private_multiproc_dir():
        _run_uvicorn(settings, workers)


# Longer than the idle timeouts of the clients and proxies in front of the cloud (httpx 5 s,
# nginx's upstream keepalive 60 s, AWS ALB 60 s), as nginx's own 75 s default is.
KEEP_ALIVE_S = 75


def _run_uvicorn(settings: Settings, workers: int) -> None:
    import uvicorn

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
        # uvicorn's loggers (its access log included) at the threshold `apf --log-level`
        # set: records at INFO from them would otherwise pass our WARNING root and fill
        # the stderr of a caller that reads it only at the end.
        log_level=os.environ.get(LEVEL_ENV, "WARNING").lower(),
        # No handlers of uvicorn's own: its records reach the root handler shared/logs.py
        # installs, so they come out as JSON too when APF_LOG_FORMAT=json.
        log_config=None,
        proxy_headers=False,
        # An idle connection is closed by the client before the server: uvicorn's 5 s
        # default equals httpx's pool expiry, so a request sent on a connection the server
        # is closing that instant fails with a read error; behind a proxy or load balancer
        # (idle timeouts of 60 s are common) the same race gives 502s.
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=10,
    )
