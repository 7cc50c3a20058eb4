"""The EEPROM of a simulated Prusa MK3S: 4 KiB of bytes that survive a firmware reset.

Hosts read and write it with `D3` (PrusaLink reads the job id, sheets, print mode and
statistics this way); `PRUSA SN` and `M862.1 Q` read their answers from it, as the firmware
does. Addresses and factory values are those of Prusa-Firmware `Firmware/eeprom.h` (the
table at its top, one row per variable) and `eeprom_init()` in `Firmware/eeprom.cpp`.
"""

from __future__ import annotations

import struct

EEPROM_SIZE = 0x1000  # Dcodes.cpp: `#define EEPROM_SIZE 0x1000` for D3
ERASED = 0xFF  # an AVR EEPROM cell nobody wrote

# eeprom.h addresses (the `D3 Ax.... Cn` column of its table)
SILENT_MODE = 0x0FFF  # uint8: 0 normal, 1 stealth, 2 auto (PrusaLink "print mode")
FILAMENT_USED = 0x0FF1  # uint32 little endian, metres
TOTAL_TIME = 0x0FED  # uint32 little endian, minutes
FLASH_AIR = 0x0FBB  # bool: Toshiba FlashAir compatibility
FILE_POSITION = 0x0F91  # uint32: power panic SD position / host line number
NOZZLE_DIAMETER = 0x0DA7  # uint8: 40 = 0.40 mm (legacy)
NOZZLE_DIAMETER_UM = 0x0DA5  # uint16: micrometres, what M862.1 Q prints
CHECK_MODE = 0x0DA8  # uint8 print checking modes (nozzle, model, version, gcode)
CHECK_MODEL = 0x0DA4
CHECK_VERSION = 0x0DA3
CHECK_GCODE = 0x0DA2
SHEETS_BASE = 0x0D49  # 8 sheets x 11 bytes, then active_sheet
SHEET_SIZE = 11  # char name[7]; int16 z_offset; uint8 bed_temp; uint8 pinda_temp
ACTIVE_SHEET = 0x0DA1
PRUSA_SN = 0x0D15  # char[20], NUL-terminated; `SN[19] != 0` means invalid
JOB_ID = 0x0D05  # uint32, written and read by hosts only

# eeprom.cpp eeprom_default_sheet_name(): the factory names, 7 characters each
SHEET_NAMES = (
    "Smooth1",
    "Smooth2",
    "Textur1",
    "Textur2",
    "Satin  ",
    "NylonPA",
    "Custom1",
    "Custom2",
)

DEFAULT_SERIAL_NUMBER = "CZPX4520X004XK01234"  # the shape of a real MK3S serial number


class Eeprom:
    """A byte array with the firmware's bounds: reads and writes past the end are cut."""

    __slots__ = ("data",)

    def __init__(self, image: bytes | None = None) -> None:
        self.data = bytearray(image if image is not None else bytes([ERASED]) * EEPROM_SIZE)

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, address: int, count: int) -> bytes:
        return bytes(self.data[address : address + count])

    def write(self, address: int, values: bytes) -> None:
        end = min(len(self.data), address + len(values))
        self.data[address:end] = values[: end - address]

    def u16(self, address: int) -> int:
        return int(struct.unpack_from("<H", self.data, address)[0])

    def u32(self, address: int) -> int:
        return int(struct.unpack_from("<I", self.data, address)[0])

    def serial_number(self) -> str | None:
        """`PRUSA SN`: the string, or None when byte 19 is not the terminating NUL."""
        raw = self.read(PRUSA_SN, 20)
        if raw[19]:
            return None
        return raw.split(b"\0", 1)[0].decode("latin-1")


def mk3s_image(serial_number: str = DEFAULT_SERIAL_NUMBER) -> bytes:
    """A calibrated MK3S after eeprom_init(): what a printer fresh from the factory holds."""
    eeprom = Eeprom()
    eeprom.write(SILENT_MODE, bytes([0]))
    eeprom.write(FILAMENT_USED, struct.pack("<I", 0))
    eeprom.write(TOTAL_TIME, struct.pack("<I", 0))
    eeprom.write(FLASH_AIR, bytes([0]))
    eeprom.write(NOZZLE_DIAMETER, bytes([40]))
    eeprom.write(NOZZLE_DIAMETER_UM, struct.pack("<H", 400))
    for address in (CHECK_MODE, CHECK_MODEL, CHECK_VERSION, CHECK_GCODE):
        eeprom.write(address, bytes([1]))  # "warn"
    for index, name in enumerate(SHEET_NAMES):
        base = SHEETS_BASE + index * SHEET_SIZE
        eeprom.write(base, name.encode("ascii"))
    # The first sheet is calibrated (First Layer Calibration): -0.800 mm in 1/400 mm steps,
    # bed and PINDA temperatures of that calibration. The others stay erased (0xffff:
    # "not calibrated", eeprom_is_sheet_initialized()).
    eeprom.write(SHEETS_BASE + 7, struct.pack("<hBB", -320, 60, 35))
    eeprom.write(ACTIVE_SHEET, bytes([0]))
    eeprom.write(PRUSA_SN, serial_number.encode("ascii")[:19].ljust(20, b"\0"))
    eeprom.write(JOB_ID, struct.pack("<I", 0))
    return bytes(eeprom.data)
