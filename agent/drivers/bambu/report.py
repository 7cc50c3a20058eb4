"""Keeping the printer's report whole: a `push_status` merged into the one held before.

P1 and A1 printers send one full `push_status` (`msg: 0`) and then, about every two
seconds, deltas (`msg: 1`) with only what changed; X1 printers send the full object each
time (OpenBambuAPI mqtt.md "pushall"; bambu-rs docs/protocol.md "Report"). Either way the
client keeps the last state and lays each message over it.

The merge rule, and the evidence for it:
- Objects merge key by key, at every depth. The H2D's captured delta `push_left_extruder`
  is `{"device": {"extruder": {"state": 274}}}`: replacing `device` (or `extruder`) with it
  would drop the bed, chamber and both nozzles' `extruder.info` that the full report held
  (ha-bambulab pybambu/tests/H2D.json).
- Lists are replaced whole, never merged entry by entry (by position or by `id`):
  - The H2D delta `push_alt_nozzle_info` carries `device.nozzle.info` with both entries
    (id 0 and 1), every field of each, although it is a delta (same file).
  - Bambu Studio, Bambu's own client, rebuilds a list from each message that carries it:
    it clears the extruders and re-reads `device.extruder.info`
    (DevExtruderSystem.cpp `ExtderSystemParser::ParseV2_0`), and it deletes every AMS unit
    missing from `ams.ams` and every tray missing from a unit's `tray`
    (DevFilaSystem.cpp "parse_json: remove ams_id"). A printer that sent part of a list
    would break its own slicer, so a list in a message is the whole list.
  - bambu-rs observed an A1 mini for 325 messages of a two-colour print: `ams` deltas held
    only scalar keys (`tray_now`, `tray_tar`, …) and `ams.ams[].tray[]` came whole in full
    reports only (docs/protocol.md "AMS only arrives in the full pushall").
  - `hms` is a list whose shrinking is the news ("the alert is gone"): merging it by entry
    would keep cleared alerts forever.
- A message that answers a command (it has `result`, e.g. a `project_file` ACK) is not a
  report: merged in, its echoed `param`/`url`/`subtask_name` would pose as printer state
  (bambu-rs docs/protocol.md "Telling an ACK from a report"). It leaves the state as it was.
- A full report (`msg: 0`) is merged like a delta rather than taken as the new state: it
  carries every key the held state has (all captured full reports do), and an unusual
  message marked `msg: 0` cannot wipe what it lacks.

Nothing here raises: a message that is not an object leaves the state unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# JSON from the printer nests a handful of levels; deeper values are shared, not copied,
# so a hostile structure cannot exhaust the recursion.
_MAX_DEPTH = 32
# Immutable JSON values, tested first: most of a report is these, and isinstance against
# concrete types is far cheaper than against the Mapping ABC.
_ATOMS = (str, int, float, type(None))


def is_ack(message_print: Mapping[str, Any]) -> bool:
    """True for a command's acknowledgement, which carries `result` (success/fail)."""
    return "result" in message_print and message_print.get("command") != "push_status"


def merge_report(current: Mapping[str, Any], message_print: Mapping[str, Any]) -> dict[str, Any]:
    """The held `print` state with one message's `print` object laid over it (new dict)."""
    held: Mapping[str, Any] = current if isinstance(current, Mapping) else {}
    if not isinstance(message_print, Mapping) or is_ack(message_print):
        return _copy_mapping(held, 0)
    return _merge(held, message_print, 0)


def _merge(held: Mapping[Any, Any], update: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    merged = {
        key: _copy(value, depth + 1)
        for key, value in held.items()
        if isinstance(key, str) and key not in update
    }
    for key, value in update.items():
        if not isinstance(key, str):
            continue
        before = held.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping) and depth < _MAX_DEPTH:
            merged[key] = _merge(before, value, depth + 1)
        elif _kind(before) not in (None, _kind(value)) and value is not None:
            # A field that changes its type (a state that becomes a number) is a printer
            # that lies: keep the value we had. P1/A1 printers send a field only when it
            # changes, so a bad one taken here would stay until the next full report.
            merged[key] = _copy(before, depth + 1)
        else:
            merged[key] = _copy(value, depth + 1)
    return merged


def _kind(value: object) -> str | None:
    """The JSON type of a value; None for null (anything may replace it)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array" if isinstance(value, list) else "other"


def _copy_mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    return {k: _copy(v, depth + 1) for k, v in value.items() if isinstance(k, str)}


def _copy(value: object, depth: int) -> Any:
    if isinstance(value, _ATOMS) or depth >= _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return _copy_mapping(value, depth)
    if isinstance(value, list | tuple):
        return [_copy(item, depth + 1) for item in value]
    return value
