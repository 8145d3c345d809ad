"""bench/scale.py: its verdicts, and a small run on a real stack (dev server, worker, sink)."""

from __future__ import annotations

import asyncio

import pytest

from bench.firing import Firing
from bench.scale import ScaleOptions, ScaleResult, parse, scale
from bench.stack import running_stack


def result(
    n: int, lateness: float, peak: float, expired: int | None = None, fired: int | None = None
) -> ScaleResult:
    """A result with these figures: ``lateness`` the latest timer's firing lateness, the
    effect (rows EXPIRED) a minute later."""
    sampled = min(n, 500)
    late = [lateness / 2] * (sampled - 1) + [lateness]
    return ScaleResult(
        n=n,
        marks=[(n // 2, 10.0), (n, 30.0)],
        rss_start_mib=100,
        rss_open_mib=peak,
        rss_peak_mib=peak,
        effect_lateness_s=lateness + 60,
        expired=n if expired is None else expired,
        firing=Firing(sampled=sampled, lateness=late[: sampled if fired is None else fired]),
    )


def test_lateness_allows_a_second_per_thousand_and_never_less_than_one() -> None:
    assert result(10_000, 9.9, 250).lateness_ok
    assert not result(10_000, 10.5, 250).lateness_ok
    assert result(200, 0.9, 250).lateness_ok
    assert not result(200, 1.2, 250).lateness_ok


def test_the_goal_is_the_timer_firing_not_the_effect() -> None:
    # The last effect a minute late, but every timer fired in time: met.
    assert result(10_000, 9.9, 250, expired=9_000).lateness_ok
    # A sampled timer that has not fired (or no history read at all) misses it.
    assert not result(1000, 0.5, 250, fired=499).lateness_ok
    assert not ScaleResult(n=10).lateness_ok
    assert not result(1000, 0.5, 301).rss_ok


def test_report_lines_give_rates_memory_per_invitation_and_verdicts() -> None:
    lines = result(1000, 0.5, 300).lines()
    assert lines[0] == "  1-500 PENDING in 10.0s: 50.0/s"
    assert lines[1] == "  501-1000 PENDING in 20.0s: 25.0/s"
    assert lines[2] == "start: 1000 PENDING in 30.0s = 33.3/s"
    assert "100 MiB idle, 300 MiB with 1000 open (205 KiB each)" in lines[3]
    assert lines[3].endswith("met)")
    assert lines[4] == (
        "expiry timers fired: p50 0.25s, p95 0.25s, max 0.50s after their deadline "
        "(500/500 sampled histories fired; goal max <= 1.0s: met)"
    )
    assert lines[5].startswith(
        "expiry effect (no goal): 1000/1000 EXPIRED in the database, the latest 60.5s after"
    )


def test_options() -> None:
    assert parse(["--open", "10000"]).every == 1000
    assert parse(["--open", "300"]).every == 60
    assert parse(["--open", "10000"]).effect_wait_s == 1060
    assert parse(["--open", "10000", "--effect-wait", "30"]).effect_wait_s == 30
    assert parse(["--histories", "40"]).histories == 40
    with pytest.raises(SystemExit):
        parse(["--open", "0"])
    with pytest.raises(SystemExit):
        parse(["--histories", "0"])


def test_a_small_run_opens_and_expires_every_invitation() -> None:
    with running_stack() as stack:
        res = asyncio.run(scale(ScaleOptions(open=4, due_after=30, step=2), stack, print))
    assert [n for n, _ in res.marks] == [2, 4]
    assert res.expired == 4
    assert res.late_starts == 0
    assert res.rss_open_mib > 50  # the worker's own RSS, read from /proc
    # Expiry takes effect after the deadline, never before it.
    assert res.effect_lateness_s > 0
    # Every history read, each with its expiry timer fired, and not early.
    assert res.firing.sampled == 4 and res.firing.fired == 4
    assert 0 <= res.firing.max < 5
