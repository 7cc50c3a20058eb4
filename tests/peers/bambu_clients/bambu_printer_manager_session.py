"""A print's life through `bambu-printer-manager` 1.0.3 (PyPI, module `bpm`).

Starts a session, reads the state, uploads the project to the card over FTPS and lists the
card, starts it with `print_3mf_file`, pauses, resumes and stops it, printing one JSON line
per step with what the library reports.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bpm.bambuconfig import BambuConfig
from bpm.bambuprinter import BambuPrinter
from bpm.bambutools import PlateType, ServiceState
from common import arguments, step, wait_for


def gcode_state(printer: BambuPrinter) -> str:
    return str(printer.printer_state.gcode_state)


def main() -> int:
    args = arguments()
    config = BambuConfig(
        hostname=args.host, access_code=args.access_code, serial_number=args.serial
    )
    printer = BambuPrinter(config=config)
    printer.start_session()
    try:
        wait_for(
            "MQTT session", lambda: printer.service_state == ServiceState.CONNECTED, args.timeout
        )
        printer.refresh()
        wait_for("a full report", lambda: printer.printer_state.climate.bed_temp > 0, args.timeout)
        step(
            "connected",
            state=gcode_state(printer),
            nozzle=printer.printer_state.active_nozzle_temp,
            bed=printer.printer_state.climate.bed_temp,
        )
        dest = f"/cache/{Path(args.file).name}"
        printer.upload_sdcard_file(args.file, dest)
        step("uploaded", exists=printer.sdcard_file_exists(dest))
        printer.print_3mf_file(dest, 1, PlateType.AUTO, False, "")
        wait_for("RUNNING", lambda: gcode_state(printer) == "RUNNING", args.timeout)
        step("printing", state=gcode_state(printer), file=printer.active_job_info.subtask_name)
        printer.pause_printing()
        wait_for("PAUSE", lambda: gcode_state(printer) == "PAUSE", args.timeout)
        step("paused", state=gcode_state(printer))
        printer.resume_printing()
        wait_for("RUNNING again", lambda: gcode_state(printer) == "RUNNING", args.timeout)
        step("resumed", state=gcode_state(printer))
        printer.stop_printing()
        wait_for("FAILED", lambda: gcode_state(printer) == "FAILED", args.timeout)
        step("stopped", state=gcode_state(printer))
    finally:
        printer.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
