"""How late the invitations' expiry timers fired, read from their histories on the server.

The scale goal is about the timer ("how late the last expiry fires after its deadline"), not
about its effect: each expiry then runs activities (the row EXPIRED, the emails) that drain at
the worker's activity rate, so the effect of the last of 10,000 due at once comes minutes after
a timer that fired on time.

The expiry is ``workflow.wait_condition(..., timeout=until - now)`` in
``InvitationWorkflow._wait_for_decision`` (workflows/invitation.py): in history a
TimerStarted / TimerFired pair. Its lateness is TimerFired's event time minus (TimerStarted's
event time + ``start_to_fire_timeout``): both times are the server's, so the worker's clock and
its backlog of workflow tasks do not enter. An invitation may have had several timers (a
reminder before the expiry, a timer restarted after an email change): the expiry is the one
that fired with the latest due time. An invitation whose deadline had already passed when it
reached the wait (its invitation activities took longer than the validity it was started with,
as happens to the last starts on a loaded machine) expires without a timer: counted apart.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

# Histories read at once: enough to be quick, few enough not to load the server being measured.
HISTORY_CONCURRENCY = 8


def expiry_lateness(events: Sequence[HistoryEvent]) -> float | None:
    """Seconds between the expiry timer's due time and its TimerFired event, or None when no
    timer of this history has fired (decided before it, or not fired yet)."""
    due: dict[int, datetime] = {}
    latest: tuple[datetime, float] | None = None
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            a = e.timer_started_event_attributes
            due[e.event_id] = e.event_time.ToDatetime() + timedelta(
                seconds=a.start_to_fire_timeout.ToTimedelta().total_seconds()
            )
        elif e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            at = due.get(e.timer_fired_event_attributes.started_event_id)
            if at is not None and (latest is None or at > latest[0]):
                latest = (at, (e.event_time.ToDatetime() - at).total_seconds())
    return None if latest is None else latest[1]


def has_timer(events: Sequence[HistoryEvent]) -> bool:
    """Whether the workflow started any timer."""
    return any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in events)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    s = sorted(values)
    rank = max(1, min(len(s), math.ceil(q / 100 * len(s))))
    return s[rank - 1]


@dataclass
class Firing:
    """Firing lateness over the sampled histories (seconds)."""

    sampled: int = 0
    lateness: list[float] = field(default_factory=list)  # one per fired expiry timer
    unread: int = 0  # histories the server did not return
    no_timer: int = 0  # expired without a timer: the deadline passed before the wait began

    @property
    def fired(self) -> int:
        """Sampled invitations whose expiry timer has fired."""
        return len(self.lateness)

    @property
    def complete(self) -> bool:
        """Every sampled history read, and each expired: by a fired timer or without one."""
        return self.fired > 0 and self.fired + self.no_timer == self.sampled

    @property
    def p50(self) -> float:
        return percentile(self.lateness, 50)

    @property
    def p95(self) -> float:
        return percentile(self.lateness, 95)

    @property
    def max(self) -> float:
        return max(self.lateness, default=0.0)


def sample(latest_first: Sequence[str], n: int, rng: random.Random | None = None) -> list[str]:
    """Up to ``n`` workflow ids: the ``n // 2`` due last (the timers that fire at the back of the
    queue) and, from the rest, a random ``n - n // 2``."""
    head = list(latest_first[: n // 2])
    rest = list(latest_first[n // 2 :])
    k = min(len(rest), n - len(head))
    return head + (rng or random.Random()).sample(rest, k)


async def firing_lateness(
    client: Client, workflow_ids: Sequence[str], concurrency: int = HISTORY_CONCURRENCY
) -> Firing:
    """Reads the histories of ``workflow_ids``, at most ``concurrency`` at once."""
    res = Firing(sampled=len(workflow_ids))
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(wid: str) -> None:
        async with gate:
            try:
                history = await client.get_workflow_handle(wid).fetch_history()
            except Exception:  # a history the server did not return is counted, not fatal
                res.unread += 1
                return
        late = expiry_lateness(history.events)
        if late is not None:
            res.lateness.append(late)
        elif not has_timer(history.events):
            res.no_timer += 1

    await asyncio.gather(*(one(w) for w in workflow_ids))
    return res
