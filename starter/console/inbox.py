"""The inbox: open tasks in the actor's scope, mine first, then the queue (claim, release
and reassign are the services', ``starter.services.tasks``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from domain.parties import Actor
from infra import i18n
from infra.db import utcnow
from infra.i18n import N_
from infra.tables import HumanTask
from starter.console.auth import Sessions
from starter.services.core import inbox_filter
from starter.services.tasks import (
    REASSIGNERS,
    ClaimError,
    NotInScopeError,
    claim,
    queue_name,
    reassign,
    release,
)

# What a workflow id names, by prefix: the business object of a task.
OBJECTS = (
    ("invitation-", N_("Invitation")),
    ("binding-change-", N_("Binding change")),
    ("incentive-", N_("Incentive payout")),
    ("authorization-", N_("Customer authorization")),
    ("onboarding-", N_("Onboarding application")),
    ("path-", N_("Development path")),
    ("renewal-", N_("Renewal")),
)


@dataclass(frozen=True)
class TaskRow:
    """One line of the inbox."""

    id: int
    kind: str
    title: str
    workflow_id: str
    business_object: str
    due_at: datetime | None
    due_text: str
    overdue: bool
    assignee_user: str | None
    queue: str


def business_object(workflow_id: str, locale: str = "en") -> str:
    """``Invitation invitation-P-1-C-1``: what the task is about, in ``locale``."""
    name = next((n for prefix, n in OBJECTS if workflow_id.startswith(prefix)), N_("Process"))
    return f"{i18n.gettext(locale, name)} {workflow_id}"


def due_text(
    due: datetime | None, now: datetime, locale: str = "en", timezone: str | None = None
) -> tuple[str, bool]:
    """A relative hint and whether it is overdue: ``due in 2 days``, ``overdue since ...``,
    in the reader's language and zone."""

    def t(message: str, **values: object) -> str:
        return i18n.gettext(locale, message) % values

    if due is None:
        return t(N_("no due date")), False
    when = i18n.format_when(due, locale, timezone)
    if due <= now:
        return t(N_("overdue since %(when)s"), when=when), True
    left = due - now
    if left < timedelta(hours=1):
        hint = t(N_("due in %(count)s min"), count=max(1, int(left.total_seconds() // 60)))
    elif left < timedelta(days=2):
        hint = t(N_("due in %(count)s h"), count=int(left.total_seconds() // 3600))
    else:
        hint = t(N_("due in %(count)s days"), count=left.days)
    return t(N_("%(hint)s (%(when)s)"), hint=hint, when=when), False


def row(task: HumanTask, now: datetime, locale: str = "en", timezone: str | None = None) -> TaskRow:
    """The inbox line of a task, for a reader of ``locale``."""
    text, overdue = due_text(task.due_at, now, locale, timezone)
    return TaskRow(
        id=task.id,
        kind=task.kind,
        title=task.title,
        workflow_id=task.workflow_id,
        business_object=business_object(task.workflow_id, locale),
        due_at=task.due_at,
        due_text=text,
        overdue=overdue,
        assignee_user=task.assignee_user,
        queue=queue_name(task),
    )


@dataclass(frozen=True)
class Inbox:
    """The home page: my tasks, my queue, tasks others hold, and what I recently did."""

    mine: list[TaskRow]
    queue: list[TaskRow]
    others: list[TaskRow]
    done: list[HumanTask]


async def load_inbox(
    sessions: Sessions,
    actor: Actor,
    limit: int = 200,
    locale: str = "en",
    timezone: str | None = None,
) -> Inbox:
    """Open tasks in scope, overdue first, then by due date (texts in ``locale``)."""
    now = utcnow()
    async with sessions() as s:
        tasks = (
            await s.scalars(
                select(HumanTask)
                .where(HumanTask.status == "open", inbox_filter(actor))
                .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
                .limit(limit)
            )
        ).all()
        done = (
            await s.scalars(
                select(HumanTask)
                .where(HumanTask.decided_by == actor.user_id)
                .order_by(HumanTask.decided_at.desc())
                .limit(20)
            )
        ).all()
    rows = [row(t, now, locale, timezone) for t in tasks]
    return Inbox(
        mine=[r for r in rows if r.assignee_user == actor.user_id],
        queue=[r for r in rows if r.assignee_user is None],
        others=[r for r in rows if r.assignee_user not in (None, actor.user_id)],
        done=list(done),
    )


__all__ = [
    "REASSIGNERS",
    "ClaimError",
    "Inbox",
    "NotInScopeError",
    "TaskRow",
    "business_object",
    "claim",
    "due_text",
    "load_inbox",
    "queue_name",
    "reassign",
    "release",
]
