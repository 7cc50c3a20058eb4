"""What a rich renderable looks like as plain text, at a chosen terminal width."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType


def rendered(renderable: RenderableType, *, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, markup=False)
    console.print(renderable)
    return console.export_text()
