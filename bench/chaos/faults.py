"""The faults of a chaos run, at random moments of its window: SIGKILLs of random workers
(restarted by the stack's keeper), Temporal server restarts on the same SQLite file and port,
SMTP outages (the sink killed, then started again), an SMTP 4xx burst (the sink's fail file),
and on PostgreSQL ``pg_terminate_backend`` of the app's connections."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.chaos.procs import ChaosStack


@dataclass(kw_only=True)
class FaultPlan:
    """How many faults of each kind, spread over ``window`` seconds."""

    window: float
    worker_kills: int = 50
    server_restarts: int = 2
    smtp_outages: int = 2
    smtp_outage_seconds: float = 30.0
    smtp_4xx_bursts: int = 1
    smtp_4xx_seconds: float = 15.0
    smtp_4xx_reply: str = "421 4.3.0 Service not available, try again later"
    db_kills: int = 2  # only on PostgreSQL


@dataclass
class FaultLog:
    """What was injected: counts by kind and one line per fault (seconds into the run)."""

    counts: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)  # e.g. seconds the server was down

    def note(self, kind: str, started: float, detail: str = "") -> None:
        """Counts one fault of ``kind``."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.lines.append(f"{time.monotonic() - started:7.1f}s {kind} {detail}".rstrip())


def _moments(rng: random.Random, count: int, window: float, lo: float, hi: float) -> list[float]:
    """``count`` moments, one at a random place in each of ``count`` equal slices of
    [lo, hi] x window, so that they are random yet spread over the window."""
    if count <= 0:
        return []
    span = (hi - lo) * window / count
    return [lo * window + span * (k + rng.random()) for k in range(count)]


def timeline(plan: FaultPlan, rng: random.Random) -> list[tuple[float, str]]:
    """The faults in time order: (seconds from the start, kind)."""
    events = [(t, "worker_kill") for t in _moments(rng, plan.worker_kills, plan.window, 0.02, 0.98)]
    events += [
        (t, "server_restart") for t in _moments(rng, plan.server_restarts, plan.window, 0.15, 0.85)
    ]
    events += [
        (t, "smtp_outage") for t in _moments(rng, plan.smtp_outages, plan.window, 0.05, 0.75)
    ]
    events += [(t, "smtp_4xx") for t in _moments(rng, plan.smtp_4xx_bursts, plan.window, 0.3, 0.8)]
    events += [(t, "db_kill") for t in _moments(rng, plan.db_kills, plan.window, 0.1, 0.9)]
    return sorted(events)


async def inject(
    stack: ChaosStack, plan: FaultPlan, rng: random.Random, log: FaultLog, started: float
) -> None:
    """Injects the plan's faults at their moments; returns once every one is over (an
    outage or a burst ended, the server back)."""
    pending: list[asyncio.Task[None]] = []
    if not stack.db.is_postgres:
        plan.db_kills = 0

    def later(delay: float, what: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await what()

        pending.append(asyncio.create_task(run()))

    for at, kind in timeline(plan, rng):
        await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
        if kind == "worker_kill":
            pid = stack.kill_random_worker(rng)
            if pid is not None:
                log.note(kind, started, f"pid {pid}")
        elif kind == "server_restart":
            # The first restart is a crash (SIGKILL), the next a clean stop, and so on.
            crash = log.counts.get(kind, 0) % 2 == 0
            t0 = time.monotonic()
            await stack.restart_server(crash)
            down = time.monotonic() - t0
            log.extra["server_down_s"] = log.extra.get("server_down_s", 0.0) + down
            how = "SIGKILL" if crash else "SIGTERM"
            log.note(kind, started, f"{how}, back after {down:.1f}s")
        elif kind == "smtp_outage" and stack.sink is not None:
            await stack.stop_sink()
            log.note(kind, started, f"sink killed for {plan.smtp_outage_seconds:.0f}s")
            later(plan.smtp_outage_seconds, stack.start_sink)
        elif kind == "smtp_4xx":
            stack.fail_file.write_text(plan.smtp_4xx_reply + "\n")
            log.note(kind, started, f"{plan.smtp_4xx_reply[:3]} for {plan.smtp_4xx_seconds:.0f}s")

            async def end_burst() -> None:
                stack.fail_file.unlink(missing_ok=True)

            later(plan.smtp_4xx_seconds, end_burst)
        elif kind == "db_kill":
            n = await stack.db.terminate_app_connections()
            log.note(kind, started, f"{n} connections terminated")
            log.extra["db_connections_killed"] = log.extra.get("db_connections_killed", 0) + n
    await asyncio.gather(*pending)
    if stack.sink is None:  # an outage planned while the sink was down already
        await stack.start_sink()
