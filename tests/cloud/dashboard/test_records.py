"""The dashboard's printer record (static/records.js): the API's record and the live feed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

RECORDS = Path(__file__).resolve().parents[3] / "cloud" / "dashboard" / "static" / "records.js"

# Runs in Node: the module uses nothing of the browser but `performance.now()`.
SCRIPT = """
import { PrinterRecord } from %(module)s;
const api = (hotend, bed) => ({
  status: "printing", current_job: "job_1", progress: 0.5, reported_materials: [],
  temperatures: { hotend, bed },
});
const out = {};
const record = new PrinterRecord(api(20, 20));
const fetchedAt = performance.now();
record.fromState({ status: "printing", temperatures: { hotend: 215, bed: 60 },
                   job: { job_id: "job_1", progress: 0.6 } });
record.fromTelemetry({ temperatures: { hotend: 216 } });
// A refetch the cloud answered from rows stored before the live items above.
record.fromApi(api(150, 40), fetchedAt);
out.whileLive = record.temps;
out.progressWhileLive = record.progress;
// The live feed silent for longer than its period: the API's temperatures are used.
record.fromApi(api(30, 25), performance.now(), record.tempsAt + 10001);
out.afterSilence = record.temps;
console.log(JSON.stringify(out));
"""


def test_a_refetch_does_not_put_older_stored_temperatures_over_live_ones() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/test installs it with the JS SDK)")
    script = SCRIPT % {"module": json.dumps(RECORDS.as_uri())}
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["whileLive"] == {"hotend": 216, "bed": 60}
    assert out["progressWhileLive"] == 0.6  # the state item came after the fetch started
    assert out["afterSilence"] == {"hotend": 30, "bed": 25}
