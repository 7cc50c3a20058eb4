from __future__ import annotations

import random

import pytest

from shared.backoff import Backoff


def test_delays_grow_to_the_cap_and_reset() -> None:
    backoff = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(1))
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for ceiling in ceilings:
        delay = backoff.next_delay_s()
        assert 0.5 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay_s() <= 1.0


def test_jitter_spreads_a_fleet() -> None:
    delays = {
        round(Backoff(base_s=1, cap_s=60, rng=random.Random(i)).next_delay_s(), 3)
        for i in range(50)
    }
    assert len(delays) > 40


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=0)
    with pytest.raises(ValueError):
        Backoff(base_s=5, cap_s=1)
