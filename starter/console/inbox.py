"""The inbox: open tasks in the actor's scope, mine first, then the queue (claim, release
and reassign are the services', ``starter.services.tasks``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from domain.parties import Actor
from infra.db import utcnow
from infra.links import fmt_time
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
    ("invitation-", "Invitation"),
    ("binding-change-", "Binding change"),
    ("incentive-", "Incentive payout"),
    ("authorization-", "Customer authorization"),
    ("onboarding-", "Onboarding application"),
    ("path-", "Development path"),
    ("renewal-", "Renewal"),
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


def business_object(workflow_id: str) -> str:
    """``Invitation invitation-P-1-C-1``: what the task is about."""
    name = next((n for prefix, n in OBJECTS if workflow_id.startswith(prefix)), "Process")
    return f"{name} {workflow_id}"


def due_text(due: datetime | None, now: datetime) -> tuple[str, bool]:
    """A relative hint and whether it is overdue: ``due in 2 days``, ``overdue since ...``."""
    if due is None:
        return "no due date", False
    if due <= now:
        return f"overdue since {fmt_time(due)}", True
    left = due - now
    if left < timedelta(hours=1):
        hint = f"due in {max(1, int(left.total_seconds() // 60))} min"
    elif left < timedelta(days=2):
        hint = f"due in {int(left.total_seconds() // 3600)} h"
    else:
        hint = f"due in {left.days} days"
    return f"{hint} ({fmt_time(due)})", False


def row(task: HumanTask, now: datetime) -> TaskRow:
    """The inbox line of a task."""
    text, overdue = due_text(task.due_at, now)
    return TaskRow(
        id=task.id,
        kind=task.kind,
        title=task.title,
        workflow_id=task.workflow_id,
        business_object=business_object(task.workflow_id),
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


async def load_inbox(sessions: Sessions, actor: Actor, limit: int = 200) -> Inbox:
    """Open tasks in scope, overdue first, then by due date."""
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
    rows = [row(t, now) for t in tasks]
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
