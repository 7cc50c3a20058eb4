"""The sequence the cloud acknowledges: contiguous, past a gap only once it is given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.orchestration.acks import applied_through

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
GIVE_UP = timedelta(seconds=60)


def at(seconds_ago: float) -> datetime:
    return NOW - timedelta(seconds=seconds_ago)


def test_it_walks_the_contiguous_run_and_stops_at_a_fresh_gap() -> None:
    applied = [(6, at(1)), (7, at(1)), (9, at(1)), (10, at(1))]
    # 8 is missing and 9 came a second ago: the agent may still have 8.
    assert applied_through(5, applied, NOW, GIVE_UP) == 7


def test_a_gap_is_given_up_once_the_event_after_it_is_old() -> None:
    applied = [(6, at(120)), (9, at(61)), (10, at(1)), (12, at(1))]
    assert applied_through(5, applied, NOW, GIVE_UP) == 10


def test_no_gap_is_given_up_for_an_agent_that_is_away() -> None:
    applied = [(6, at(3600)), (9, at(3600))]
    assert applied_through(5, applied, NOW, None) == 6


def test_a_repeated_seq_does_not_move_it() -> None:
    # An agent whose database was replaced numbers from 1 again (new event ids).
    assert applied_through(5, [(6, at(1)), (6, at(1)), (7, at(1))], NOW, GIVE_UP) == 7
    assert applied_through(5, [], NOW, GIVE_UP) == 5
