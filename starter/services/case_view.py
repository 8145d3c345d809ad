"""One case: status, business object, people, who it waits for, and one timeline that merges
the business events, the emails and the timers ahead.

Sources, none guessed: the business row (``cases``), Temporal's description and the
workflow's ``status`` query (its deadlines), the workflow's pending timers in its history
(reminders, escalations, checks), the audit events, the human tasks and the email outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType

from domain.parties import Actor, Role
from infra.db import utcnow
from infra.i18n import N_
from infra.tables import Customer, EmailOutbox, HumanTask, Partner, User
from starter.services.cases import TYPES, CaseNotFoundError, case_row
from starter.services.context import AppContext
from starter.services.core import Execution, workflow_execution, workflow_records
from starter.services.errors import CliError
from starter.services.tasks import queue_name

# Deadlines the workflows' status views name (domain/*View), as a reader calls them.
DEADLINES: dict[str, str] = {
    "expires_at": N_("Expiry"),
    "deadline_at": N_("Answer due"),
    "valid_until": N_("Authorization ends"),
    "review_due_at": N_("Review due"),
    "signatures_due_at": N_("Agreements due"),
    "approval_due_at": N_("Approval due"),
    "invoice_due_at": N_("Invoice window ends"),
    "release_at": N_("Frozen incentive released"),
}
# A pending timer that is none of the named deadlines: the workflow wakes up then to remind,
# escalate or check (its history does not say which).
NEXT_STEP = N_("Next scheduled step (reminder, escalation or check)")
TASK_DUE = N_("Task due")
# A timer that fires within this of a named deadline is that deadline.
SAME_MOMENT = timedelta(seconds=2)
EmailState = Literal["queued", "retried", "sent", "bounced", "invalid"]
# Shown through the ``term`` filter: the email states, Temporal's execution states (lower
# case), and the path memberships' statuses as the list upper-cases them.
TERMS = (
    N_("queued"),
    N_("retried"),
    N_("sent"),
    N_("bounced"),
    N_("invalid"),
    N_("running"),
    N_("completed"),
    N_("failed"),
    N_("canceled"),
    N_("terminated"),
    N_("continued_as_new"),
    N_("timed_out"),
    N_("JOINED"),
    N_("LEFT"),
    N_("COMPLETED"),
    N_("PENDING_APPROVAL"),
)


class Person(BaseModel):
    """Someone involved: the parties and everyone who acted or is asked to act."""

    relation: str  # marked English: "Partner", "Customer", "Acted", "Asked to act"
    id: str
    name: str | None = None
    role: str | None = None


class WaitingFor(BaseModel):
    """An open task: whom the case waits for, since when, until when."""

    task_id: int
    title: str
    kind: str
    queue: str
    role: str
    party: str | None = None
    assignee: str | None = None
    assignee_name: str | None = None
    since: datetime
    due_at: datetime | None = None
    overdue: bool = False


class TimelineEntry(BaseModel):
    """One line of the timeline: a business event, an email, or a timer ahead."""

    kind: Literal["event", "email", "timer"]
    at: datetime
    title: str  # event name, email subject, or a marked English label (timers)
    actor: str | None = None
    operator: str | None = None
    detail: str = ""
    email_state: EmailState | None = None
    to: str | None = None
    attempts: int = 0
    reason: str | None = None


class CaseView(BaseModel):
    """Everything the case page (and ``/api/cases/{id}``) shows."""

    workflow_id: str
    type: str
    type_label: str  # marked English
    status: str
    execution_status: str | None = None
    run_id: str | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    partner_id: str | None = None
    partner_name: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    facts: dict[str, Any] = {}
    people: list[Person] = []
    waiting_for: list[WaitingFor] = []
    timeline: list[TimelineEntry] = []
    temporal_url: str | None = None
    # Why Temporal did not answer (the page then shows what the database holds), or None.
    temporal_error: str | None = None


def temporal_ui_url(ctx: AppContext, workflow_id: str, run_id: str | None) -> str | None:
    """The same workflow in the Temporal web UI (``PARTNERFLOW_TEMPORAL_UI_URL``; the dev
    stack's UI port in development), or None when no UI is configured."""
    s = ctx.settings
    base = s.temporal_ui_url or (
        f"http://127.0.0.1:{s.dev_temporal_ui_port}" if s.environment == "dev" else None
    )
    if not base:
        return None
    path = f"{base.rstrip('/')}/namespaces/{quote(s.temporal_namespace, safe='')}/workflows/"
    path += quote(workflow_id, safe="")
    return f"{path}/{quote(run_id, safe='')}/history" if run_id else path


def email_state(m: EmailOutbox) -> EmailState:
    """queued (not tried yet), retried (a try failed, more to come), sent, bounced, invalid."""
    if m.status == "sent":
        return "sent"
    if m.status in ("bounced", "invalid"):
        return "bounced" if m.status == "bounced" else "invalid"
    return "retried" if m.attempts > 0 or m.last_error else "queued"


async def pending_timers(ex: Execution) -> list[datetime]:
    """When the running workflow's started, not yet fired or cancelled timers fire."""
    started: dict[str, datetime] = {}
    history = await ex.handle.fetch_history()
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            a = e.timer_started_event_attributes
            fires = e.event_time.ToDatetime(tzinfo=UTC) + a.start_to_fire_timeout.ToTimedelta()
            started[a.timer_id] = fires
        elif e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            started.pop(e.timer_fired_event_attributes.timer_id, None)
        elif e.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            started.pop(e.timer_canceled_event_attributes.timer_id, None)
    return sorted(started.values())


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


async def timers_ahead(
    ex: Execution | None, tasks: list[HumanTask], now: datetime
) -> list[TimelineEntry]:
    """Named deadlines of the status view, open tasks' due dates, and the other pending
    timers of a running workflow, from now on."""
    out: list[TimelineEntry] = []
    running = ex is not None and ex.status == "RUNNING"
    state = ex.state if ex is not None and isinstance(ex.state, dict) else {}
    named: list[datetime] = []
    if running:
        for key, label in DEADLINES.items():
            at = _when(state.get(key))
            if at is not None and at > now:
                named.append(at)
                out.append(TimelineEntry(kind="timer", at=at, title=label))
    for t in tasks:
        if t.status == "open" and t.due_at is not None and t.due_at > now:
            named.append(t.due_at)
            out.append(
                TimelineEntry(
                    kind="timer", at=t.due_at, title=TASK_DUE, detail=t.title, to=queue_name(t)
                )
            )
    if running and ex is not None:
        for at in await pending_timers(ex):
            if at > now and all(abs(at - n) > SAME_MOMENT for n in named):
                named.append(at)
                out.append(TimelineEntry(kind="timer", at=at, title=NEXT_STEP))
    return out


async def _names(ctx: AppContext, ids: set[str]) -> dict[str, tuple[str, str]]:
    """id -> (name, role) for users, and for customers acting for themselves."""
    if not ids:
        return {}
    async with ctx.sessions() as s:
        users = (await s.scalars(select(User).where(User.id.in_(ids)))).all()
        found = {u.id: (u.name, u.role) for u in users}
        rest = ids - set(found)
        if rest:
            for c in (await s.scalars(select(Customer).where(Customer.id.in_(rest)))).all():
                found[c.id] = (c.name, Role.CUSTOMER.value)
    return found


def _in_scope_by_attributes(actor: Actor, ex: Execution) -> bool:
    """For a workflow with no business row yet (a path invitation): its search attributes."""
    if actor.role == Role.OPS:
        return True
    sa = ex.search_attributes
    if actor.partner_id and sa.get("PartnerId") == actor.partner_id:
        return actor.role in (Role.PARTNER_ADMIN, Role.PARTNER_STAFF)
    return bool(actor.customer_id) and sa.get("CustomerId") == actor.customer_id


async def case(ctx: AppContext, actor: Actor, workflow_id: str) -> CaseView:
    """The case ``workflow_id`` as ``actor`` may see it; CaseNotFoundError when it does not
    exist or lies outside the actor's scope (the same answer)."""
    row = await case_row(ctx.sessions, actor, workflow_id)
    unreachable: str | None = None
    try:
        ex = await workflow_execution(ctx, workflow_id)
    except CliError as exc:  # Temporal is down: the database still tells most of the story
        ex, unreachable = None, exc.message
    if row is None and (ex is None or not _in_scope_by_attributes(actor, ex)):
        raise CaseNotFoundError(workflow_id)
    now = utcnow()
    records = await workflow_records(ctx, workflow_id)
    state = ex.state if ex is not None and isinstance(ex.state, dict) else {}
    type_name = row.type if row else (ex.workflow_type if ex else "")
    sa = ex.search_attributes if ex else {}
    partner_id = row.partner_id if row else sa.get("PartnerId")
    customer_id = row.customer_id if row else sa.get("CustomerId")
    people: list[Person] = []
    async with ctx.sessions() as s:
        partner = await s.get(Partner, partner_id) if partner_id else None
        customer = await s.get(Customer, customer_id) if customer_id else None
    if partner_id:
        name = partner.company_name if partner else None
        people.append(Person(relation=N_("Partner"), id=partner_id, name=name))
    if customer_id:
        name = customer.name if customer else None
        people.append(Person(relation=N_("Customer"), id=customer_id, name=name))
    acted = [e.actor for e in records.events if e.actor != "system"]
    acted += [t.decided_by for t in records.tasks if t.decided_by]
    asked = [t.assignee_user for t in records.tasks if t.status == "open" and t.assignee_user]
    names = await _names(ctx, set(acted) | set(asked))
    for relation, ids in ((N_("Acted"), acted), (N_("Asked to act"), asked)):
        for pid in dict.fromkeys(ids):
            name, role = names.get(pid, (None, None))
            people.append(Person(relation=relation, id=pid, name=name, role=role))
    waiting = [
        WaitingFor(
            task_id=t.id,
            title=t.title,
            kind=t.kind,
            queue=queue_name(t),
            role=t.assignee_role,
            party=t.assignee_party,
            assignee=t.assignee_user,
            assignee_name=names.get(t.assignee_user, (None, None))[0] if t.assignee_user else None,
            since=t.created_at,
            due_at=t.due_at,
            overdue=t.due_at is not None and t.due_at < now,
        )
        for t in records.tasks
        if t.status == "open"
    ]
    timeline = [
        TimelineEntry(
            kind="event",
            at=e.occurred_at,
            title=e.event,
            actor=e.actor,
            operator=e.operator,
            detail=e.detail,
        )
        for e in records.events
    ]
    timeline += [
        TimelineEntry(
            kind="email",
            at=m.sent_at or m.created_at,
            title=m.subject,
            email_state=email_state(m),
            to=m.to_addr,
            attempts=m.attempts,
            reason=m.last_error,
        )
        for m in records.emails
    ]
    timeline += await timers_ahead(ex, records.tasks, now)
    order = {"event": 0, "email": 1, "timer": 2}
    timeline.sort(key=lambda e: (e.at, order[e.kind]))
    facts = {
        k: v
        for k, v in state.items()
        if v not in (None, "", [], {}) and not isinstance(v, dict | list) and k != "workflow_id"
    }
    return CaseView(
        workflow_id=workflow_id,
        type=type_name,
        type_label=TYPES.get(type_name, N_("Process")),
        status=(row.status if row else str(state.get("status") or sa.get("BusinessStatus") or "")),
        execution_status=ex.status if ex else None,
        run_id=ex.run_id if ex else None,
        started_at=row.started_at if row else (ex.started if ex else None),
        closed_at=ex.closed if ex else None,
        partner_id=partner_id,
        partner_name=partner.company_name if partner else None,
        customer_id=customer_id,
        customer_name=customer.name if customer else None,
        facts=facts,
        people=people,
        waiting_for=waiting,
        timeline=timeline,
        temporal_url=temporal_ui_url(ctx, workflow_id, ex.run_id if ex else None),
        temporal_error=unreachable,
    )
