"""Where a stored G-code file is served: its URL, and the signed form agents fetch it with."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from cloud.context import CloudContext
from cloud.files.signing import sign_download

_OWN_FILE_PATH = re.compile(r"^/v1/files/(fil_[0-9a-z]{20})$")
DOWNLOAD_TTL_S = 3600


def public_base(app: CloudContext) -> str:
    settings = app.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def file_url(app: CloudContext, file_id: str) -> str:
    return f"{public_base(app)}/v1/files/{file_id}"


def signed_file_url(app: CloudContext, file_id: str, ttl_s: int = DOWNLOAD_TTL_S) -> str:
    """A URL an agent can GET without an API key until it expires."""
    query = sign_download(file_id, int(time.time()) + ttl_s, app.signing_key)
    return f"{file_url(app, file_id)}?{query}"


def own_file_id(app: CloudContext, url: str) -> str | None:
    """The file id if `url` names this service's own stored file, else None."""
    parts = urlsplit(url)
    match = _OWN_FILE_PATH.match(parts.path)
    if match is None:
        return None
    base = urlsplit(public_base(app))
    return match.group(1) if (parts.scheme, parts.netloc) == (base.scheme, base.netloc) else None
