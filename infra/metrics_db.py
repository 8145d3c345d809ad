"""Business gauges read from the database and from Temporal at scrape time, and the record
of each reference-data import (imports run in CLI processes that are gone before a scrape)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError

from infra import metrics as m
from infra.db import insert_ignore, utcnow
from infra.tables import AuditEvent, HumanTask, IncentivePayout, RenewalTask

# Imports are recorded as audit events on this pseudo-timeline per kind: no migration, and
# `partnerflow show import:partners` lists a kind's imports.
IMPORT_TIMELINE_PREFIX = "import:"
IMPORT_EVENTS = {"ok": "import_succeeded", "refused": "import_refused"}


async def record_import(
    sessions: async_sessionmaker[AsyncSession], kind: str, result: str, detail: str
) -> None:
    """Records one import run (result ``ok`` or ``refused``) for the imports metric."""
    async with sessions.begin() as s:
        await s.execute(
            insert_ignore(s, AuditEvent, ["idempotency_key"]).values(
                idempotency_key=f"import-{uuid.uuid4().hex}",
                workflow_id=f"{IMPORT_TIMELINE_PREFIX}{kind}",
                event=IMPORT_EVENTS[result],
                actor="cli",
                detail=detail[:2000],
                occurred_at=utcnow(),
            )
        )


async def refresh_db_gauges(s: AsyncSession, now: datetime | None = None) -> None:
    """Reads open/overdue tasks, payouts, renewal tasks and imports into the gauges."""
    now = now or datetime.now(UTC)
    open_rows = (
        await s.execute(
            select(HumanTask.kind, HumanTask.assignee_role, func.count())
            .where(HumanTask.status == "open")
            .group_by(HumanTask.kind, HumanTask.assignee_role)
        )
    ).all()
    overdue_rows = (
        await s.execute(
            select(HumanTask.kind, HumanTask.assignee_role, func.count())
            .where(HumanTask.status == "open", HumanTask.due_at < now)
            .group_by(HumanTask.kind, HumanTask.assignee_role)
        )
    ).all()
    m.replace_gauge(m.TASKS_OPEN, {(k, r): float(n) for k, r, n in open_rows})
    # Every open series gets an overdue value (0 included), so the alert compares like with like.
    overdue: dict[tuple[str, ...], float] = {(k, r): 0.0 for k, r, _ in open_rows}
    overdue.update({(k, r): float(n) for k, r, n in overdue_rows})
    m.replace_gauge(m.TASKS_OVERDUE, overdue)

    payouts = (
        await s.execute(
            select(
                IncentivePayout.method,
                IncentivePayout.status,
                func.count(),
                func.sum(IncentivePayout.amount),
            ).group_by(IncentivePayout.method, IncentivePayout.status)
        )
    ).all()
    m.replace_gauge(m.PAYOUTS, {(meth or "none", st): float(n) for meth, st, n, _ in payouts})
    m.replace_gauge(
        m.PAYOUT_AMOUNT,
        {(meth or "none", st): float(total or 0) for meth, st, _, total in payouts},
    )
    renewals = (
        await s.execute(select(RenewalTask.status, func.count()).group_by(RenewalTask.status))
    ).all()
    m.replace_gauge(m.RENEWAL_TASKS, {(st,): float(n) for st, n in renewals})
    imports = (
        await s.execute(
            select(AuditEvent.workflow_id, AuditEvent.event, func.count())
            .where(AuditEvent.workflow_id.like(f"{IMPORT_TIMELINE_PREFIX}%"))
            .group_by(AuditEvent.workflow_id, AuditEvent.event)
        )
    ).all()
    results = {v: k for k, v in IMPORT_EVENTS.items()}
    m.replace_gauge(
        m.IMPORTS,
        {
            (wf.removeprefix(IMPORT_TIMELINE_PREFIX), results.get(ev, ev)): float(n)
            for wf, ev, n in imports
        },
    )
    m.DB_SNAPSHOT_AGE.set(time.time())


async def refresh_schedule_gauges(client: Client, schedule_ids: Sequence[str]) -> None:
    """Missed, overdue and paused state of each Schedule (absent ones are left out)."""
    now = datetime.now(UTC)
    for schedule_id in schedule_ids:
        try:
            desc = await client.get_schedule_handle(schedule_id).describe()
        except RPCError:
            for gauge in (m.SCHEDULE_MISSED, m.SCHEDULE_OVERDUE, m.SCHEDULE_PAUSED):
                with contextlib.suppress(KeyError):
                    gauge.remove(schedule_id)
            continue
        m.SCHEDULE_MISSED.labels(schedule_id).set(desc.info.num_actions_missed_catchup_window)
        paused = desc.schedule.state.paused
        m.SCHEDULE_PAUSED.labels(schedule_id).set(1 if paused else 0)
        upcoming = desc.info.next_action_times
        late = (now - upcoming[0]).total_seconds() if upcoming and not paused else 0.0
        m.SCHEDULE_OVERDUE.labels(schedule_id).set(max(0.0, late))
