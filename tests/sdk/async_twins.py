"""Write `autoprintfarm/resources/async_*.py` from their blocking twins.

The async resources are the sync ones with ``async def`` and ``await``; generating them
keeps the two from drifting (test_async_twins checks the committed files match). Run
``.venv/bin/python -m tests.sdk.async_twins`` after changing `resources/sync*.py`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "autoprintfarm" / "resources"
TWINS = {"sync.py": "async_.py", "sync_org.py": "async_org.py"}


def generate(source: str, module: str) -> str:
    doc_end = source.index('"""', 3) + 3
    text = (
        f'"""The resources of `AsyncClient` in `resources.{module}`, awaited: the same methods\n'
        "and arguments. Generated from that module by tests/sdk/async_twins.py.\n"
        '"""' + source[doc_end:]
    )
    for old, new in (
        (
            "from autoprintfarm.pagination import SyncPage",
            "from autoprintfarm.pagination import AsyncPage",
        ),
        ("SyncPage[", "AsyncPage["),
        ("from autoprintfarm._sync import Client", "from autoprintfarm._async import AsyncClient"),
        (
            "from autoprintfarm.resources.sync import _Resource",
            "from autoprintfarm.resources.async_ import _Resource",
        ),
        ("client: Client", "client: AsyncClient"),
        ("self._client._page(", "await self._client._page("),
        ("return self.action(", "return await self.action("),
    ):
        text = text.replace(old, new)
    text = re.sub(r"^(\s+)def (?!__init__)", r"\1async def ", text, flags=re.M)
    text = re.sub(r"self\._client\._request(_empty|_optional)?\(", r"await \g<0>", text)
    return _formatted(text)


def _formatted(text: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", "twin.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=RESOURCES.parents[1],
    )
    return done.stdout


def expected() -> dict[Path, str]:
    return {
        RESOURCES / twin: generate((RESOURCES / src).read_text(), src.removesuffix(".py"))
        for src, twin in TWINS.items()
    }


if __name__ == "__main__":
    for path, text in expected().items():
        path.write_text(text)
