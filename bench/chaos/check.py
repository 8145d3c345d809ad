"""The chaos run's checker: after the faults, proves from Temporal, the app database, the
email outbox and the SMTP sink's mailbox that nothing was lost or done twice.

Every finding is a line in ``Verdict.problems``; the run fails when there is any.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus

from bench.chaos.scenarios import Case
from bench.drivers import Sessions
from bench.drivers_more import uscc
from infra.db import Base
from infra.smtp_sink import read_mail_dir
from infra.tables import Binding, EmailOutbox, HumanTask, Invitation, Partner
from infra.tables.incentives import IncentivePayment, IncentivePayout
from infra.tables.onboarding import OnboardingApplication
from infra.tables.renewals import RenewalTask
from infra.tables.unbinding import BalanceRecovery, BindingChangeRequest

# Columns that are an idempotency key: one row per value.
KEY_COLUMNS = ("idempotency_key", "run_key", "request_key", "payout_id")
MAX_LISTED = 10


@dataclass
class Outcome:
    """What the driver saw of one case."""

    case: Case
    workflow_id: str | None = None
    status: str | None = None  # the workflow's final status, from its result
    refused: str | None = None  # an update refused by a rule (a business answer, not a loss)
    error: str | None = None  # anything else: the driver could not finish it


@dataclass
class Verdict:
    """The checker's findings and counts."""

    problems: list[str] = field(default_factory=list)
    temporal: Counter[str] = field(default_factory=Counter)
    rows_checked: int = 0
    keys_checked: int = 0
    outbox: Counter[str] = field(default_factory=Counter)
    sink_messages: int = 0
    duplicates: int = 0  # extra copies at the sink of one Message-ID
    open_tasks_checked: int = 0

    def problem(self, msg: str) -> None:
        """Records a finding."""
        self.problems.append(msg)


async def check(
    client: Client, sessions: Sessions, mail_dir: Path, outcomes: list[Outcome]
) -> Verdict:
    """Every check; a ``Verdict`` with no problems means nothing was lost."""
    v = Verdict()
    closed = await _temporal(client, outcomes, v)
    async with sessions() as s:
        await _keys(s, v)
        await _business_rows(s, outcomes, v)
        await _tasks(s, closed, v)
        sent = await _outbox(s, v)
    _sink(mail_dir, sent, v)
    return v


async def _temporal(client: Client, outcomes: list[Outcome], v: Verdict) -> set[str]:
    """Every execution closed COMPLETED, and each case ended in the status it must reach."""
    closed: set[str] = set()
    stuck: list[str] = []
    async for wf in client.list_workflows():
        status = wf.status
        if status != WorkflowExecutionStatus.COMPLETED:
            # The list comes from the visibility store, which the server updates after the
            # execution itself: on a starved CPU a workflow whose result was already read
            # was still listed RUNNING. The execution's own state (describe) decides.
            handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
            status = (await handle.describe()).status
        name = status.name if status is not None else "UNKNOWN"
        v.temporal[name] += 1
        if status == WorkflowExecutionStatus.COMPLETED:
            closed.add(wf.id)
        else:
            stuck.append(f"{wf.id} {name}")
    for line in stuck[:MAX_LISTED]:
        v.problem(f"temporal: {line} (not completed)")
    if len(stuck) > MAX_LISTED:
        v.problem(f"temporal: ... and {len(stuck) - MAX_LISTED} more not completed")
    for o in outcomes:
        if o.error is not None:
            v.problem(f"driver: {o.case.kind} {o.case.outcome} #{o.case.i}: {o.error}")
        elif o.refused is not None:
            v.problem(f"refused: {o.case.kind} {o.case.outcome} #{o.case.i}: {o.refused}")
        elif o.status != o.case.expected:
            v.problem(f"{o.workflow_id}: ended {o.status}, expected {o.case.expected}")
        elif o.workflow_id not in closed:
            v.problem(f"{o.workflow_id}: result {o.status} but not COMPLETED in Temporal")
    return closed


async def _keys(s: Any, v: Verdict) -> None:
    """At most one row per idempotency key in every table that has one (the UNIQUE
    constraints say so; this proves the schema in use has them)."""
    for table in Base.metadata.sorted_tables:
        for name in KEY_COLUMNS:
            if name not in table.c:
                continue
            col = table.c[name]
            total = await s.scalar(select(func.count()).select_from(table))
            distinct = await s.scalar(select(func.count(func.distinct(col))))
            v.rows_checked += int(total or 0)
            v.keys_checked += int(distinct or 0)
            if total != distinct:
                v.problem(f"{table.name}.{name}: {total} rows for {distinct} keys")


async def _all(s: Any, model: Any) -> list[Any]:
    return list((await s.scalars(select(model))).all())


async def _business_rows(s: Any, outcomes: list[Outcome], v: Verdict) -> None:
    """Each case's own rows: its business record in its final status, and its effect done
    exactly once (a binding, a recovered balance, a payment, a new partner)."""
    invitations = await _all(s, Invitation)
    changes = await _all(s, BindingChangeRequest)
    recoveries = await _all(s, BalanceRecovery)
    bindings = await _all(s, Binding)
    payouts = await _all(s, IncentivePayout)
    payments = await _all(s, IncentivePayment)
    renewals = await _all(s, RenewalTask)
    applications = await _all(s, OnboardingApplication)
    partners = await _all(s, Partner)
    v.rows_checked += sum(
        map(len, (invitations, changes, recoveries, bindings, payouts, payments))
    ) + sum(map(len, (renewals, applications, partners)))
    by_wf: dict[str, list[Any]] = {}
    for row in [*invitations, *changes, *renewals, *applications]:
        by_wf.setdefault(row.workflow_id, []).append(row)
    active = Counter((b.partner_id, b.customer_id) for b in bindings if b.status == "active")
    binding_by_id = {b.id: b for b in bindings}
    recovered = Counter(r.request_id for r in recoveries)
    paid = Counter(p.payout_id for p in payments if p.status == "paid")
    payout_of = {p.partner_id: p for p in payouts}
    partner_count = Counter(p.uscc for p in partners)

    for o in outcomes:
        c, wid = o.case, o.workflow_id
        if wid is None or o.status != c.expected:
            continue  # already a problem
        if c.kind == "payout":
            payout = payout_of.get(f"PP-{c.i}")
            if payout is None or payout.status != "PAID":
                v.problem(f"{wid}: payout row {payout.status if payout else 'missing'}")
            elif paid[payout.payout_id] != 1:
                v.problem(f"{wid}: {paid[payout.payout_id]} paid payments, expected 1")
            continue
        rows = by_wf.get(wid, [])
        if len(rows) != 1 or rows[0].status != c.expected:
            seen = [r.status for r in rows]
            v.problem(f"{wid}: business rows {seen}, expected one {c.expected}")
            continue
        row = rows[0]
        if c.kind == "invitation":
            want = 1 if c.outcome == "accepted" else 0
            got = active[("P-INV", f"CI-{c.i}")]
            if got != want:
                v.problem(f"{wid}: {got} active bindings, expected {want}")
        elif c.kind == "unbinding":
            binding = binding_by_id[row.binding_id]
            want_status, want_rec = ("ended", 1) if c.outcome == "approved" else ("active", 0)
            if binding.status != want_status or recovered[row.id] != want_rec:
                v.problem(
                    f"{wid}: binding {binding.status}, {recovered[row.id]} balance recoveries; "
                    f"expected {want_status}, {want_rec}"
                )
        elif c.kind == "onboarding" and partner_count[uscc("9144", c.i)] != 1:
            v.problem(f"{wid}: {partner_count[uscc('9144', c.i)]} partners, expected 1")


async def _tasks(s: Any, closed: set[str], v: Verdict) -> None:
    """No task left open in an inbox for a workflow that has ended."""
    rows = (await s.execute(select(HumanTask.workflow_id, HumanTask.status))).all()
    v.open_tasks_checked = len(rows)
    v.rows_checked += len(rows)
    dangling = sorted({wid for wid, status in rows if status == "open" and wid in closed})
    for wid in dangling[:MAX_LISTED]:
        v.problem(f"{wid}: a task is still open but the workflow has ended")
    if len(dangling) > MAX_LISTED:
        v.problem(f"... and {len(dangling) - MAX_LISTED} more workflows with open tasks")


async def _outbox(s: Any, v: Verdict) -> set[str]:
    """Every outbox email sent (no bounce was asked for); the Message-IDs sent."""
    rows = (await s.execute(select(EmailOutbox.message_id, EmailOutbox.status))).all()
    v.rows_checked += len(rows)
    unsent = [mid for mid, status in rows if status != "sent"]
    for _mid, status in rows:
        v.outbox[status] += 1
    for mid in unsent[:MAX_LISTED]:
        v.problem(f"outbox: {mid} not sent")
    if len(unsent) > MAX_LISTED:
        v.problem(f"outbox: ... and {len(unsent) - MAX_LISTED} more not sent")
    return {mid for mid, status in rows if status == "sent"}


def _sink(mail_dir: Path, sent: set[str], v: Verdict) -> None:
    """Every sent email is at the sink; a copy more only with the same Message-ID (a send
    whose 250 was lost to a fault is sent again, the receiver de-duplicates by Message-ID)."""
    ids = Counter(str(msg["Message-ID"] or "").strip("<>") for _, msg in read_mail_dir(mail_dir))
    v.sink_messages = sum(ids.values())
    v.duplicates = sum(n - 1 for n in ids.values() if n > 1)
    outbox_ids = {m.strip("<>") for m in sent}
    missing = sorted(outbox_ids - set(ids))
    strangers = sorted(set(ids) - outbox_ids)
    for mid in missing[:MAX_LISTED]:
        v.problem(f"sink: {mid} marked sent but never received")
    if len(missing) > MAX_LISTED:
        v.problem(f"sink: ... and {len(missing) - MAX_LISTED} more never received")
    for mid in strangers[:MAX_LISTED]:
        v.problem(f"sink: {mid} received but not in the outbox")
