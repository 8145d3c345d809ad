"""bench/firing.py: the expiry timer's firing lateness from a history, and the sample."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.firing import Firing, expiry_lateness, has_timer, percentile, sample

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def started(event_id: int, at: float, timeout: float) -> HistoryEvent:
    e = HistoryEvent(event_id=event_id, event_type=EventType.EVENT_TYPE_TIMER_STARTED)
    e.event_time.FromDatetime(T0 + timedelta(seconds=at))
    e.timer_started_event_attributes.start_to_fire_timeout.FromTimedelta(timedelta(seconds=timeout))
    return e


def fired(event_id: int, started_id: int, at: float) -> HistoryEvent:
    e = HistoryEvent(event_id=event_id, event_type=EventType.EVENT_TYPE_TIMER_FIRED)
    e.event_time.FromDatetime(T0 + timedelta(seconds=at))
    e.timer_fired_event_attributes.started_event_id = started_id
    return e


def test_lateness_is_fired_minus_started_plus_timeout() -> None:
    assert expiry_lateness([started(5, 1.0, 30.0), fired(9, 5, 32.75)]) == 1.75


def test_the_expiry_is_the_fired_timer_due_last() -> None:
    # A reminder timer (due at 10, fired 0.5 s late), then the expiry (due at 40, 0.25 s late).
    events = [started(5, 0, 10), fired(6, 5, 10.5), started(9, 11, 29), fired(12, 9, 40.25)]
    assert expiry_lateness(events) == 0.25


def test_no_fired_timer_is_none() -> None:
    assert expiry_lateness([]) is None and not has_timer([])
    assert expiry_lateness([started(5, 0, 10)]) is None and has_timer([started(5, 0, 10)])


def test_complete_when_each_expired_by_a_timer_or_without_one() -> None:
    assert Firing(sampled=3, lateness=[0.1, 0.2], no_timer=1).complete
    assert not Firing(sampled=3, lateness=[0.1, 0.2]).complete  # one timer still waiting
    assert not Firing(sampled=2, no_timer=2).complete  # no timer measured at all


def test_sample_takes_the_latest_half_and_a_random_rest() -> None:
    ids = [f"w{i}" for i in range(1000)]
    got = sample(ids, 500, random.Random(1))
    assert got[:250] == ids[:250]
    assert len(set(got)) == 500 and set(got[250:]) <= set(ids[250:])
    assert sorted(sample(ids[:3], 500)) == sorted(ids[:3])


def test_percentile() -> None:
    assert percentile([], 95) == 0.0
    v = [float(i) for i in range(1, 101)]
    assert percentile(v, 50) == 50.0 and percentile(v, 95) == 95.0 and percentile(v, 100) == 100
