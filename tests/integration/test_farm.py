"""End to end: API → queue → bridge → broker → agent → simulated printer, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apf.demo.samples import SampleJob, sample_gcode
from shared.enums import Priority
from shared.gcode import analyze_stream
from tests.integration.farm import Farm, PrinterSpec, running_farm
from tests.support.broker import TestBroker

pytestmark = pytest.mark.slow

_RANK = {p.value: p.rank for p in Priority}


def grams(name: str, material: str, layers: int = 2) -> float:
    """What the file says it uses (the API rounds its estimate to 0.1 g; this is exact)."""
    data = sample_gcode(SampleJob(name, material, Priority.NORMAL, layers))
    used = analyze_stream([data]).filament_used_g
    assert used is not None
    return used


async def submit(farm: Farm, name: str, material: str, priority: Priority, layers: int = 2) -> Any:
    job = SampleJob(name, material, priority, layers)
    return await farm.json(
        "POST",
        "/v1/jobs",
        files={"file": (f"{name}.gcode", sample_gcode(job), "text/x.gcode")},
        data={"name": name, "priority": priority.value, "material": material},
    )


async def test_ten_jobs_complete_in_priority_order_on_matching_printers(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    specs = [
        PrinterSpec("pla", "marlin", "PLA", "Black"),
        PrinterSpec("petg", "prusa", "PETG", "Grey"),
        PrinterSpec("abs", "klipper", "ABS", "White"),
        PrinterSpec("tpu", "marlin", "TPU", "Red"),
    ]
    plan = [
        ("a", "PLA", Priority.LOW),
        ("b", "PLA", Priority.URGENT),
        ("c", "PETG", Priority.NORMAL),
        ("d", "PLA", Priority.HIGH),
        ("e", "ABS", Priority.NORMAL),
        ("f", "PETG", Priority.HIGH),
        ("g", "TPU", Priority.LOW),
        ("h", "PLA", Priority.NORMAL),
        ("i", "ABS", Priority.URGENT),
        ("j", "PETG", Priority.NORMAL),
    ]
    async with running_farm(mqtt_broker, tmp_path, specs, start_agent=False) as farm:
        jobs = [await submit(farm, name, material, priority) for name, material, priority in plan]
        farm.start_agent()  # every job is queued before the first printer comes online

        async def all_completed() -> list[Any] | None:
            current = [await farm.json("GET", f"/v1/jobs/{j['id']}") for j in jobs]
            failed = [j for j in current if j["status"] in ("failed", "cancelled")]
            assert not failed, failed
            return current if all(j["status"] == "completed" for j in current) else None

        done = await farm.wait_for(all_completed, timeout_s=180, what="all ten jobs completed")
        by_material: dict[str, list[dict[str, Any]]] = {}
        for job in done:
            printer = await farm.json("GET", f"/v1/printers/{job['printer_id']}")
            spool = await farm.json("GET", f"/v1/materials/{farm.spools[printer['id']]}")
            assert spool["type"] == job["material"]["type"], (job, spool)
            by_material.setdefault(job["material"]["type"], []).append(job)
        for material, group in by_material.items():
            # One printer per material: the order it printed them is the queue's order.
            printed = sorted(group, key=lambda j: j["started_at"])
            expected = sorted(group, key=lambda j: (-_RANK[j["priority"]], j["created_at"]))
            assert [j["name"] for j in printed] == [j["name"] for j in expected], material
            spool = await farm.json("GET", f"/v1/materials/{farm.spools[group[0]['printer_id']]}")
            used = sum(grams(j["name"], material) for j in group)
            assert spool["remaining_weight"] == pytest.approx(1000 - used, abs=0.05), material
        printers = (await farm.json("GET", "/v1/printers"))["data"]
        assert {p["status"] for p in printers} == {"idle"}
        assert all(p["current_job"] is None for p in printers)

        # The fleet's figures agree with what was printed.
        fleet = (await farm.json("GET", "/v1/analytics/fleet"))["metrics"]
        assert fleet["total_printers"] == 4
        assert fleet["active_printers"] == 4
        assert fleet["jobs_completed"] == 10
        assert fleet["success_rate"] == 100.0
        consumed = sum(grams(name, material) for name, material, _ in plan)
        assert fleet["material_consumed"] == pytest.approx(consumed, abs=0.1)
        assert fleet["estimated_cost"] == pytest.approx(consumed / 1000 * 25.0, abs=0.01)
        durations = sum(j["elapsed_time"] for j in done)
        assert fleet["total_print_time"] == pytest.approx(durations, abs=10)


async def test_unplugged_printer_fails_its_job_and_deducts_only_what_was_printed(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    specs = [PrinterSpec("only", "marlin", "PLA", "Black")]
    # 115200 baud keeps the print going long enough to pull the cable halfway.
    async with running_farm(mqtt_broker, tmp_path, specs, sim_baud=115_200) as farm:
        job = await submit(farm, "long", "PLA", Priority.NORMAL, layers=30)
        printer_id = farm.printers["only"]
        sim = farm.sims[printer_id]
        await sim.wait_executed(400, timeout_s=60)
        sim.unplug()

        async def failed() -> Any:
            body = await farm.json("GET", f"/v1/jobs/{job['id']}")
            return body if body["status"] == "failed" else None

        body = await farm.wait_for(failed, timeout_s=30, what="job failed after unplug")
        assert body["failure_reason"], body
        assert 0 < body["progress"] < 100

        async def offline() -> bool:
            printer = await farm.json("GET", f"/v1/printers/{printer_id}")
            return bool(printer["status"] == "offline")

        await farm.wait_for(offline, timeout_s=10, what="printer offline")
        spool = await farm.json("GET", f"/v1/materials/{farm.spools[printer_id]}")
        full = body["material"]["estimated_usage"]
        used = 1000 - spool["remaining_weight"]
        assert 0 < used < full, (used, full)


async def test_every_printer_action_round_trips_through_the_real_agent(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    specs = [PrinterSpec("only", "marlin", "PLA", "Black")]
    async with running_farm(mqtt_broker, tmp_path, specs, sim_baud=115_200) as farm:
        printer_id = farm.printers["only"]
        url = f"/v1/printers/{printer_id}/actions"

        async def printer_is(status: str) -> bool:
            body = await farm.json("GET", f"/v1/printers/{printer_id}")
            return bool(body["status"] == status)

        await farm.wait_for(lambda: printer_is("idle"), timeout_s=30, what="printer idle")
        for action in ("home", "cooldown"):
            response = await farm.api.post(url, json={"action": action})
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "ok"

        job = await submit(farm, "long", "PLA", Priority.NORMAL, layers=30)
        await farm.sims[printer_id].wait_executed(100, timeout_s=60)
        await farm.wait_for(lambda: printer_is("printing"), timeout_s=20, what="printing")
        busy = await farm.api.post(url, json={"action": "home"})
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "printer_busy"

        for action, then in (("pause", "paused"), ("resume", "printing"), ("cancel", None)):
            response = await farm.api.post(url, json={"action": action})
            assert response.status_code == 200, (action, response.text)
            if then is not None:
                await farm.wait_for(lambda s=then: printer_is(s), timeout_s=20, what=then)

        async def cancelled() -> bool:
            body = await farm.json("GET", f"/v1/jobs/{job['id']}")
            return bool(body["status"] == "cancelled")

        await farm.wait_for(cancelled, timeout_s=30, what="job cancelled")
        await farm.wait_for(lambda: printer_is("idle"), timeout_s=30, what="idle after cancel")


async def test_a_job_of_three_copies_paused_between_copies_prints_each_copy_once(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    specs = [PrinterSpec("only", "marlin", "PLA", "Black")]
    async with running_farm(mqtt_broker, tmp_path, specs) as farm:
        printer_id = farm.printers["only"]
        data = sample_gcode(SampleJob("three", "PLA", Priority.NORMAL, 2))
        job = await farm.json(
            "POST",
            "/v1/jobs",
            files={"file": ("three.gcode", data, "text/x.gcode")},
            data={"material": "PLA", "copies": "3"},
        )
        url = f"/v1/jobs/{job['id']}"

        async def read() -> Any:
            return await farm.json("GET", url)

        async def first_copy_done() -> bool:
            return bool((await read())["copies_completed"] >= 1)

        await farm.wait_for(first_copy_done, timeout_s=60, what="the first copy")
        # Paused wherever it is: between copies (held) or on the printer's next copy.
        response = await farm.api.post(f"{url}/actions", json={"action": "pause"})
        assert response.status_code == 200, response.text

        async def paused() -> Any:
            body = await read()
            return body if body["status"] == "paused" else None

        held = await farm.wait_for(paused, timeout_s=30, what="job paused")
        assert held["copies_completed"] < 3
        response = await farm.api.post(f"{url}/actions", json={"action": "resume"})
        assert response.status_code == 200, response.text

        async def completed() -> Any:
            body = await read()
            return body if body["status"] == "completed" else None

        done = await farm.wait_for(completed, timeout_s=90, what="job completed")
        assert (done["copies_completed"], done["progress"]) == (3, 100.0)
        # Each copy homed once: three copies printed, none twice, none lost.
        assert farm.sims[printer_id].executed.count("G28") == 3
        printer = await farm.json("GET", f"/v1/printers/{printer_id}")
        assert (printer["status"], printer["current_job"]) == ("idle", None)
