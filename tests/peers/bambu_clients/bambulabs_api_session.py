"""A print's life through `bambulabs-api` 2.6.6 (PyPI), as its README drives a printer.

Connects (MQTT only: the camera stream on port 6000 is not simulated), reads the state,
uploads the project over FTPS, starts it with `start_print`, pauses, resumes and stops it,
printing one JSON line per step with what the library reports.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bambulabs_api as bl
from common import arguments, step, wait_for


def state(printer: bl.Printer) -> str:
    return printer.get_state().name


def main() -> int:
    args = arguments()
    printer = bl.Printer(args.host, args.access_code, args.serial)
    printer.mqtt_start()
    try:
        wait_for("MQTT connection", printer.mqtt_client_connected, args.timeout)
        wait_for("the first report", printer.mqtt_client_ready, args.timeout)
        wait_for("a known state", lambda: state(printer) != "UNKNOWN", args.timeout)
        step(
            "connected",
            state=state(printer),
            nozzle=printer.get_nozzle_temperature(),
            bed=printer.get_bed_temperature(),
            firmware=printer.mqtt_client.firmware_version(),
            trays=[t.tray_type for t in printer.ams_hub()[0].filament_trays.values()],
        )
        name = Path(args.file).name
        with open(args.file, "rb") as handle:
            where = printer.upload_file(handle, name)
        step("uploaded", answer=where)
        printer.start_print(name, 1, use_ams=False)
        wait_for("RUNNING", lambda: state(printer) == "RUNNING", args.timeout)
        step("printing", state=state(printer), file=printer.subtask_name())
        printer.pause_print()
        wait_for("PAUSE", lambda: state(printer) == "PAUSE", args.timeout)
        step("paused", state=state(printer))
        printer.resume_print()
        wait_for("RUNNING again", lambda: state(printer) == "RUNNING", args.timeout)
        step("resumed", state=state(printer), percent=printer.get_percentage())
        printer.stop_print()
        wait_for("FAILED", lambda: state(printer) == "FAILED", args.timeout)
        step("stopped", state=state(printer), print_error=printer.print_error_code())
    finally:
        printer.mqtt_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
