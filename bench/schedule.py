"""Benchmark: planning 10,000 queued jobs onto 1,000 free printers (target < 1 s).

    .venv/bin/python bench/schedule.py [--jobs 10000] [--printers 1000] [--repeat 5]

Jobs get random priorities, ages and materials (a quarter pinned to a printer); printers a
random loaded material, and a fifth of them an AMS of four more. Prints the best and median
wall time of `plan` over the repeats.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from cloud.queue.planner import FreePrinter, QueuedJob, plan
from shared.enums import Priority

MATERIALS = [("PLA", "Black"), ("PLA", "White"), ("PETG", "Black"), ("ABS", None), (None, None)]


def make_inputs(
    n_jobs: int, n_printers: int, seed: int
) -> tuple[list[QueuedJob], list[FreePrinter]]:
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    printers = []
    for i in range(n_printers):
        loaded = [rng.choice(MATERIALS)]
        if rng.random() < 0.2:
            loaded += [rng.choice(MATERIALS) for _ in range(4)]
        printers.append(FreePrinter(f"prt_{i}", tuple(loaded)))
    jobs = []
    for i in range(n_jobs):
        kind, color = rng.choice(MATERIALS)
        pinned = f"prt_{rng.randrange(n_printers)}" if rng.random() < 0.25 else None
        jobs.append(
            QueuedJob(
                f"job_{i}",
                rng.choice(list(Priority)),
                t0 + timedelta(seconds=rng.randrange(86_400)),
                pinned,
                kind,
                color if rng.random() < 0.5 else None,
            )
        )
    return jobs, printers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--printers", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    jobs, printers = make_inputs(args.jobs, args.printers, seed=1)
    times = []
    assigned = 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        assigned = len(plan(jobs, printers))
        times.append(time.perf_counter() - start)
    print(
        f"plan: {args.jobs} jobs onto {args.printers} printers -> {assigned} assignments; "
        f"best {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms "
        f"over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()
