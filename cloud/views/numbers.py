"""How numbers look in responses and webhooks (docs/api.md, "Numbers"), one rule per kind.

Agents measure to more digits than anyone reads (a progress of 62.903225806451616 % is one
line of 31); the API rounds when it answers, never when it stores:
- percentages (progress, rates) and temperatures: one decimal;
- grams (filament estimates and use, spool weights): one decimal;
- money: two decimals;
- durations: whole seconds (stored so).
"""

from __future__ import annotations

from typing import overload


@overload
def tenth(value: float) -> float: ...
@overload
def tenth(value: float | None) -> float | None: ...
def tenth(value: float | None) -> float | None:
    """Percentages, temperatures and grams."""
    return None if value is None else round(value, 1)


@overload
def cents(value: float) -> float: ...
@overload
def cents(value: float | None) -> float | None: ...
def cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
