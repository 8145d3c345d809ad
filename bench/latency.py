"""Decision-to-effect latency: an invitation's accept update sent until the binding is in the
database and the customer's acceptance email is in the SMTP sink (watched while the update is
in flight), against a bare update round trip on the no-op twin; samples taken alternately, a
few at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from temporalio.client import Client

from bench.drivers import (
    POLL_TIMEOUT,
    InvitationDriver,
    Sessions,
    StuckError,
    customer_actor,
    decide,
)
from bench.floor import next_wait, open_floor, reached, send_wait
from bench.mail import MailWatcher
from bench.shape import Shape
from bench.stack import TASK_QUEUE, Stack
from domain.parties import Decision
from infra.tables import Binding
from workflows.invitation import InvitationWorkflow

# How often the effects are looked for; well under the latencies measured (tens of ms).
EFFECT_POLL = 0.005


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), nearest rank."""
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class LatencyResult:
    """Seconds per sample: real decision-to-effect, and the twin's update round trip; and
    when the real update itself answered (after the effect: the workflow records its state)."""

    real: list[float]
    floor: list[float]
    real_answered: list[float] = field(default_factory=list)

    @property
    def ratio_p95(self) -> float:
        """p95 real over p95 floor."""
        return percentile(self.real, 0.95) / percentile(self.floor, 0.95)

    def line(self) -> str:
        """``latency: decision-to-effect p50 .. ms, p95 .. ms; bare update ...; p95 ratio``."""

        def ms(v: list[float], q: float) -> str:
            return f"{percentile(v, q) * 1000:.0f} ms"

        return (
            f"latency: decision-to-effect p50 {ms(self.real, 0.5)}, p95 {ms(self.real, 0.95)}; "
            f"bare update round trip p50 {ms(self.floor, 0.5)}, p95 {ms(self.floor, 0.95)}; "
            f"p95 ratio {self.ratio_p95:.2f} ({len(self.real)} samples each)"
            + (
                f"; the real accept update answered p50 {ms(self.real_answered, 0.5)}, "
                f"p95 {ms(self.real_answered, 0.95)}"
                if self.real_answered
                else ""
            )
        )


async def _effect(
    sessions: Sessions, mail: MailWatcher, cid: str, email: str, decision: asyncio.Task[Any]
) -> None:
    """Returns once customer ``cid`` has an active binding and its second email arrived (the
    invitation, then the acceptance), whether or not the update has answered yet: the effect
    is what the customer sees. Raises at once when the ``decision`` failed. The acceptance is
    emailed after the binding is committed, so the database is asked only once the email is
    in (a query every few ms per sample loaded the machine the effect runs on)."""
    deadline = time.perf_counter() + POLL_TIMEOUT
    while time.perf_counter() < deadline:
        if decision.done() and decision.exception() is not None:
            raise StuckError(f"{cid}: the decision failed: {decision.exception()!r}")
        mail.refresh()
        if mail.count.get(email, 0) >= 2:
            async with sessions() as s:
                bound = await s.scalar(
                    select(Binding.id).where(Binding.customer_id == cid, Binding.status == "active")
                )
            if bound is not None:
                return
        await asyncio.sleep(EFFECT_POLL)
    raise StuckError(f"{cid}: no binding or acceptance email after {POLL_TIMEOUT:.0f}s")


async def measure_latency(
    driver: InvitationDriver,
    client: Client,
    sessions: Sessions,
    stack: Stack,
    shape: Shape,
    *,
    first_index: int,
    samples: int,
    concurrency: int,
    progress: Callable[[str], None],
) -> LatencyResult:
    """``samples`` of each, in alternating groups of ``concurrency``."""
    mail = MailWatcher(stack.mail_dir)
    result = LatencyResult(real=[], floor=[])

    async def real(i: int) -> None:
        cid = f"CI-{i}"
        h = await driver.start(client, TASK_QUEUE, i)
        started = time.perf_counter()
        # The effect is watched for while the update is in flight: the binding and the email
        # come before the workflow has answered (it still records its own state).
        decision = asyncio.create_task(
            decide(h, InvitationWorkflow.accept, Decision(actor=customer_actor(cid)))
        )
        try:
            await _effect(sessions, mail, cid, f"ci-{i}@cust.bench", decision)
            result.real.append(time.perf_counter() - started)
        finally:
            await decision  # answered, and accepted (a failure raises here)
        result.real_answered.append(time.perf_counter() - started)
        await h.result()

    async def floor(j: int) -> None:
        # Started as the real one is (with its `checked` update), then the accept's twin timed.
        h, begin = await open_floor(client, TASK_QUEUE, shape, f"floor-latency-{j}")
        pos = next_wait(shape, begin)
        if pos is None:
            raise StuckError("the invitation's shape has no update to time")
        await reached(h, pos)
        started = time.perf_counter()
        await send_wait(h, shape, pos)
        result.floor.append(time.perf_counter() - started)
        for later in range(pos + 1, len(shape.steps)):
            if shape.steps[later].kind in ("update", "signal"):
                await reached(h, later)
                await send_wait(h, shape, later)
        await h.result()

    done = 0
    while done < samples:
        k = min(concurrency, samples - done)
        await asyncio.gather(*(real(first_index + done + j) for j in range(k)))
        await asyncio.gather(*(floor(done + j) for j in range(k)))
        done += k
    progress(f"latency: {samples} samples each")
    return result
