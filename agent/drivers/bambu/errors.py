"""Bambu Lab error codes as text a person can act on: `print_error` and the HMS list.

A printer reports trouble on two channels (bambu-rs docs/protocol.md "Errors: print_error
is a separate channel from HMS"):
- `print.print_error`, one 32-bit code, shown by Bambu as `MMMM_EEEE` (0x0300400C is
  `0300_400C`); Bambu's catalogue calls these "device_error".
- `print.hms`, a list of `{attr, code}` pairs of 32-bit ints, shown as
  `AAAA_BBBB_CCCC_DDDD` (attr high/low half, code high/low half; ha-bambulab
  pybambu/models.py `HMSNotification.hms_code`, bambu-rs docs/protocol.md "HMS decode");
  the catalogue calls these "device_hms".

The meanings given below come from Bambu's own catalogue, the JSON that Bambu Studio
downloads from https://e.bambulab.com/query.php (BambuStudio src/slic3r/GUI/HMS.cpp
`download_hms_related`), read in the English copy that ha-bambulab caches
(pybambu/hms_error_text/hms_en.json.gz at 809391e). The wording here is our own and short;
the links lead to Bambu's full text and pictures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

# A cancelled print ends FAILED with this code (reset to 0 a few seconds later); pybambu
# tells a cancel from a failure by it (ha-bambulab pybambu/models.py; peers README §9).
# Bambu's catalogue: "The task was canceled."
CANCELLED_ERROR = 0x0300400C

# Bambu's wiki page that lists the print_error codes (there is no page per code; Bambu
# Studio's error dialog shows the text with no link, DeviceErrorDialog.cpp).
PRINT_ERROR_WIKI = "https://wiki.bambulab.com/en/hms/error-code"

# The link Bambu Studio opens for one HMS entry (HMSNotifyItem → `get_hms_wiki_url` in
# BambuStudio src/slic3r/GUI/HMS.cpp, host from AppConfig::get_hms_host): it forwards to
# the wiki page of that code for the printer model.
_HMS_WIKI = "https://e.bambulab.com/index.php?e={code}&s=device_hms&lang=en"

_U32 = 0xFFFFFFFF


class HmsSeverity(IntEnum):
    """`code >> 16` of an HMS entry (BambuStudio DevHMS.cpp `parse_hms_info`; the names are
    its `HMSMessageLevel`, and bambu-rs docs/protocol.md says the same bits). What a level
    does, per Bambu's wiki page "HMS introduced" (as copied at docs.home.schwetz.au,
    bambu-labs-x1-carbon/page/introduction-to-the-hms): 1 stops the print and must be
    cleared before the next one, 2 pauses it until cleared, and the rest only inform."""

    UNKNOWN = 0
    FATAL = 1
    SERIOUS = 2
    COMMON = 3
    INFO = 4

    @property
    def blocks_printing(self) -> bool:
        return self in (HmsSeverity.FATAL, HmsSeverity.SERIOUS)


@dataclass(frozen=True, slots=True)
class HmsEntry:
    attr: int
    code: int

    @property
    def severity(self) -> HmsSeverity:
        level = self.code >> 16
        return HmsSeverity(level) if 1 <= level <= 4 else HmsSeverity.UNKNOWN

    @property
    def code_text(self) -> str:
        """`0300_0100_0001_0007`, the form on the printer's screen and in the wiki."""
        return (
            f"{self.attr >> 16:04X}_{self.attr & 0xFFFF:04X}_"
            f"{self.code >> 16:04X}_{self.code & 0xFFFF:04X}"
        )

    @property
    def wiki_url(self) -> str:
        return _HMS_WIKI.format(code=f"{self.attr:08X}{self.code:08X}")


def format_print_error(code: int) -> str:
    """0x0300400C → `0300_400C`."""
    value = code & _U32
    return f"{value >> 16:04X}_{value & 0xFFFF:04X}"


# --- print_error --------------------------------------------------------------------------

# Codes of module 0x07 (the AMS) carry the unit in their second byte: 0700_8023 is "AMS A
# cooling failed", 0701_8023 "AMS B …"; 07FF_… is the external spool. These keys have the
# unit byte cleared and "{ams}" where the unit's name goes.
_AMS_PRINT_ERRORS = {
    0x07008011: "{ams} ran out of filament: put a new spool in the same tray",
    0x07008005: "{ams} could not push filament out: cut the end flat, reinsert it, check the tubes",
    0x07008010: "{ams} assist motor is overloaded: look for tangled filament or a stuck spool",
}
_PRINT_ERRORS = {
    CANCELLED_ERROR: "the print was cancelled",
    0x03008001: "paused from the printer's screen or an app",
    0x03008004: "the filament ran out: load new filament",
    0x07FF8011: "the external spool ran out: load new filament",
    0x03008003: "AI print monitoring saw spaghetti: check the print before resuming",
    0x0C008001: "first-layer inspection found defects: check the first layer, resume if fine",
    0x0C008009: "the build plate marker was not found: check that the plate sits straight",
    0x03008005: "the toolhead's front cover fell off: put it back on",
    0x0300800F: "print paused: the door looks open",
    0x03008042: "print paused: the door or top cover is open",
    0x0300404B: "the print stopped because the front door or top cover is open",
    0x03008008: "nozzle temperature malfunction: see the printer's assistant before heating",
    0x03008009: "heatbed temperature malfunction",
    0x03004006: "the nozzle is clogged",
    # Also observed on an A1 mini with a failing card (bambu-rs docs/protocol.md).
    0x0500C010: "the printer's storage card (microSD or USB drive) failed: reinsert or replace it",
}


def _print_error_text(code: int) -> str | None:
    if code >> 24 == 0x07 and (unit := (code >> 16) & 0xFF) < 0x80:
        template = _AMS_PRINT_ERRORS.get(code & 0xFF00FFFF)
        if template is not None:
            return template.format(ams=f"AMS{unit + 1}")
    return _PRINT_ERRORS.get(code)


def print_error_message(code: int) -> str | None:
    """A sentence for a `print_error`, None when there is none (0 or not a code)."""
    if not isinstance(code, int) or isinstance(code, bool) or (code & _U32) == 0:
        return None
    value = code & _U32
    shown = format_print_error(value)
    text = _print_error_text(value)
    if text is None:
        return f"printer error {shown}: see {PRINT_ERROR_WIKI}"
    return f"{text} (printer error {shown}, {PRINT_ERROR_WIKI})"


# --- HMS ----------------------------------------------------------------------------------

_HMS_TEXTS = {
    (0x03001200, 0x00020001): "the toolhead's front cover fell off",
    (0x03009600, 0x00010001): "print paused: the front door looks open",
    (0x03009600, 0x00030001): "the front door is open",
    (0x0C000300, 0x0002000C): "the build plate marker was not found: check the plate's position",
    (0x0C000300, 0x00030007): "first-layer inspection saw possible defects: check the first layer",
    (0x0C000300, 0x00030008): "AI print monitoring saw possible spaghetti: check the print",
    (0x0C000300, 0x0003001B): "AI print monitoring saw possible spaghetti: check the print",
}


def _hms_text(entry: HmsEntry) -> str | None:
    attr, code = entry.attr, entry.code
    # 0300_0100_0001_xxxx are all "the heatbed temperature is abnormal" (a shorted or open
    # heater or sensor, overheating); 0300_0200_0001_xxxx the same for the nozzle.
    if attr == 0x03000100 and entry.severity is HmsSeverity.FATAL:
        return "heatbed temperature fault: its heater or sensor may be broken"
    if attr == 0x03000200 and entry.severity is HmsSeverity.FATAL:
        return "nozzle temperature fault: its heater or sensor may be broken"
    # 07UU_2S00_000L_0001: AMS unit UU (FF: the external spool), tray S (part 0x20 + tray)
    # ran out ("AMS A Slot 1 filament has run out", "External filament has run out").
    part = (attr >> 8) & 0xFF
    runout = entry.severity in (HmsSeverity.SERIOUS, HmsSeverity.COMMON)
    if runout and attr >> 24 == 0x07 and 0x20 <= part <= 0x23 and (code & 0xFFFF) == 0x0001:
        unit = (attr >> 16) & 0xFF
        if unit == 0xFF:
            return "the external spool ran out of filament"
        if unit < 0x80:
            return f"AMS{unit + 1} tray {part - 0x1F} ran out of filament"
    return _HMS_TEXTS.get((attr, code))


def hms_entries(hms: object) -> tuple[HmsEntry, ...]:
    """The report's `hms` list as entries; anything malformed or all-zero is left out (an
    entry with a zero attr or code is no alert: bambu-rs docs/protocol.md "HMS decode")."""
    if not isinstance(hms, list | tuple):
        return ()
    entries = []
    for item in hms:
        if isinstance(item, HmsEntry):
            entries.append(item)
        elif isinstance(item, Mapping):
            attr, code = _u32(item.get("attr")), _u32(item.get("code"))
            if attr and code:
                entries.append(HmsEntry(attr, code))
    return tuple(entries)


def hms_message(entry: HmsEntry) -> str:
    severity = entry.severity.name.lower()
    text = _hms_text(entry)
    if text is None:
        return f"printer error {entry.code_text} ({severity}): see {entry.wiki_url}"
    return f"{text} (HMS {entry.code_text}, {severity}, {entry.wiki_url})"


def hms_messages(hms: object) -> list[str]:
    """One sentence per alert, from the report's raw list or from `HmsEntry` values."""
    return [hms_message(entry) for entry in hms_entries(hms)]


def _u32(value: object) -> int:
    """An int as the printer's unsigned 32 bits; 0 for anything that is not an int."""
    return value & _U32 if isinstance(value, int) and not isinstance(value, bool) else 0
