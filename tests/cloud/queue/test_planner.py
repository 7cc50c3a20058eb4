"""The queue's planning rules, on plain data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.queue.planner import Assignment, FreePrinter, QueuedJob, plan, queue_order
from shared.enums import Priority

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job(job_id: str, priority: Priority = Priority.NORMAL, age_s: int = 0, **kw: str) -> QueuedJob:
    return QueuedJob(job_id, priority, T0 - timedelta(seconds=age_s), **kw)


def test_priority_beats_age_and_age_breaks_ties() -> None:
    jobs = [
        job("old-low", Priority.LOW, age_s=500),
        job("new-urgent", Priority.URGENT, age_s=1),
        job("old-normal", Priority.NORMAL, age_s=100),
        job("older-normal", Priority.NORMAL, age_s=200),
        job("high", Priority.HIGH, age_s=0),
    ]
    got = plan(jobs, [FreePrinter("p1"), FreePrinter("p2"), FreePrinter("p3")])
    assert [a.job_id for a in got] == ["new-urgent", "high", "older-normal"]


def test_pinned_job_waits_for_its_printer() -> None:
    jobs = [job("pinned", Priority.URGENT, printer_id="busy-one"), job("free", Priority.LOW)]
    assert plan(jobs, [FreePrinter("p1")]) == [Assignment("free", "p1")]
    assert plan(jobs, [FreePrinter("busy-one")]) == [Assignment("pinned", "busy-one")]


def test_material_type_must_match_and_colour_when_given() -> None:
    printers = [
        FreePrinter("petg", (("PETG", "Black"),)),
        FreePrinter("pla-red", (("PLA", "Red"),)),
        FreePrinter("pla-black", (("pla", "black"),)),
        FreePrinter("empty"),
    ]
    jobs = [
        job("want-pla-black", age_s=4, material_type="PLA", material_color="Black"),
        job("want-pla", age_s=3, material_type="PLA"),
        job("want-abs", age_s=2, material_type="ABS"),
        job("anything", age_s=1),
    ]
    got = {a.job_id: a.printer_id for a in plan(jobs, printers)}
    assert got == {"want-pla-black": "pla-black", "want-pla": "pla-red", "anything": "petg"}


# A Bambu printer with an AMS: its trays as its agent reports them (type, "#RRGGBB").
AMS = (("PLA", "#000000"), ("PETG", "#FF0000"), (None, None), ("PLA", "#FFFFFF"))


def test_a_job_matches_any_material_a_printer_has_loaded() -> None:
    printers = [FreePrinter("spool-only", (("PLA", "Black"),)), FreePrinter("ams", AMS)]
    jobs = [
        job("want-petg", age_s=2, material_type="petg"),
        job("want-abs", age_s=1, material_type="ABS"),
    ]
    assert plan(jobs, printers) == [Assignment("want-petg", "ams")]


def test_a_colour_is_matched_against_each_tray_as_text() -> None:
    ams = FreePrinter("ams", AMS)
    # The tray's hex colour, in any case; the spool's colour (a name) matches that name.
    assert plan([job("white", material_type="PLA", material_color="#ffffff")], [ams]) == [
        Assignment("white", "ams")
    ]
    assert plan([job("red", material_type="PETG", material_color=" #FF0000 ")], [ams]) == [
        Assignment("red", "ams")
    ]
    # A name is not translated into a hex value, and the type must be the tray's own.
    assert plan([job("white", material_type="PLA", material_color="White")], [ams]) == []
    assert plan([job("red-pla", material_type="PLA", material_color="#FF0000")], [ams]) == []
    with_spool = FreePrinter("ams", (("PLA", "White"), *AMS))
    assert plan([job("white", material_type="PLA", material_color="White")], [with_spool]) == [
        Assignment("white", "ams")
    ]


def test_a_tray_without_a_type_is_no_candidate() -> None:
    empty_trays = FreePrinter("ams", ((None, None), ("", "#FF0000"), ("  ", None)))
    jobs = [job("typed", age_s=1, material_type="PLA"), job("any", age_s=0)]
    assert plan(jobs, [empty_trays]) == [Assignment("any", "ams")]


def test_a_pinned_job_goes_to_its_printer_whatever_is_loaded() -> None:
    jobs = [
        job("pinned-abs", Priority.LOW, material_type="ABS", printer_id="ams"),
        job("unpinned-pla", Priority.URGENT, material_type="PLA"),
    ]
    printers = [FreePrinter("ams", AMS), FreePrinter("pla", (("PLA", None),))]
    # The unpinned job leaves the AMS printer to the pinned job, which takes it although
    # none of its trays is ABS.
    assert set(plan(jobs, printers)) == {
        Assignment("unpinned-pla", "pla"),
        Assignment("pinned-abs", "ams"),
    }


def test_a_printer_listed_under_several_materials_is_taken_once() -> None:
    jobs = [
        job("pla-black", age_s=4, material_type="PLA", material_color="#000000"),
        job("pla", age_s=3, material_type="PLA"),
        job("petg", age_s=2, material_type="PETG"),
        job("petg-red", age_s=1, material_type="PETG", material_color="#ff0000"),
        job("any", age_s=0),
    ]
    printers = [FreePrinter("ams", AMS), FreePrinter("petg", (("PETG", "Red"),))]
    assert plan(jobs, printers) == [Assignment("pla-black", "ams"), Assignment("petg", "petg")]


def test_unpinned_job_leaves_the_printer_a_pinned_job_waits_for() -> None:
    jobs = [job("unpinned", Priority.URGENT), job("pinned", Priority.LOW, printer_id="p1")]
    got = plan(jobs, [FreePrinter("p1"), FreePrinter("p2")])
    assert set(got) == {Assignment("unpinned", "p2"), Assignment("pinned", "p1")}


def test_higher_priority_unpinned_job_still_wins_when_there_is_no_other_printer() -> None:
    jobs = [job("unpinned", Priority.URGENT), job("pinned", Priority.LOW, printer_id="p1")]
    assert plan(jobs, [FreePrinter("p1")]) == [Assignment("unpinned", "p1")]


def test_nothing_to_do() -> None:
    assert plan([], [FreePrinter("p")]) == []
    assert plan([job("j")], []) == []


def fits(q: QueuedJob, p: FreePrinter) -> bool:
    """The rule, restated: one of the printer's materials has the job's type and colour."""
    if q.material_type is None:
        return True
    return any(
        kind is not None
        and kind.strip().lower() == q.material_type.lower()
        and (not q.material_color or (color or "").lower() == q.material_color.lower())
        for kind, color in p.materials
    )


_materials = st.sampled_from([None, "PLA", "PETG"])
_colors = st.sampled_from([None, "Black", "Red"])


@settings(max_examples=200, deadline=None)
@given(
    jobs=st.lists(
        st.tuples(
            st.sampled_from(list(Priority)),
            st.integers(0, 50),
            _materials,
            _colors,
            st.sampled_from([None, "p0", "p1", "p9"]),
        ),
        max_size=30,
    ),
    printers=st.lists(st.lists(st.tuples(_materials, _colors), max_size=3), max_size=8),
)
def test_invariants_hold_for_any_input(
    jobs: list[tuple[Priority, int, str | None, str | None, str | None]],
    printers: list[list[tuple[str | None, str | None]]],
) -> None:
    queued = [
        QueuedJob(f"j{i}", pr, T0 + timedelta(seconds=age), pin, mt, mc if mt else None)
        for i, (pr, age, mt, mc, pin) in enumerate(jobs)
    ]
    free = [
        FreePrinter(f"p{i}", tuple((mt, mc if mt else None) for mt, mc in loaded))
        for i, loaded in enumerate(printers)
    ]
    got = plan(queued, free)
    by_id = {q.job_id: q for q in queued}
    loaded = {p.printer_id: p for p in free}
    # Each job and each printer at most once.
    assert len({a.job_id for a in got}) == len(got) == len({a.printer_id for a in got})
    for a in got:
        q, p = by_id[a.job_id], loaded[a.printer_id]
        if q.printer_id is not None:
            assert a.printer_id == q.printer_id
        elif q.material_type is not None:
            assert fits(q, p)
    # No unassigned job could have used a printer left free (nothing left on the table).
    taken = {a.printer_id for a in got}
    assigned = {a.job_id for a in got}
    left = [p for p in free if p.printer_id not in taken]
    for q in queued:
        if q.job_id in assigned:
            continue
        if q.printer_id is not None:
            assert q.printer_id not in {p.printer_id for p in left}
        else:
            for p in left:
                assert not fits(q, p), f"{q.job_id} could have used {p.printer_id}"
    # Assigned jobs come in queue order.
    assert [a.job_id for a in got] == [
        q.job_id for q in sorted(queued, key=queue_order) if q.job_id in assigned
    ]


def test_large_plan_is_deterministic() -> None:
    rng = random.Random(7)
    queued = [
        QueuedJob(
            f"j{i}",
            rng.choice(list(Priority)),
            T0 + timedelta(seconds=rng.randint(0, 9999)),
            None,
            rng.choice(["PLA", "PETG"]),
        )
        for i in range(2000)
    ]
    free = [
        FreePrinter(f"p{i}", tuple((rng.choice(["PLA", "PETG", None]), None) for _ in range(2)))
        for i in range(300)
    ]
    assert plan(queued, free) == plan(list(reversed(queued)), free)
