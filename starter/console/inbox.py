"""The inbox: open tasks in the actor's scope, mine first, then the queue; claim, release,
reassign.

A claim is the task row's ``assignee_user``: one UPDATE guarded by ``assignee_user IS NULL``
decides between two people claiming at once. A renewal task also has a claim inside its
workflow (the partner's staff take the order): claiming it here claims it there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from domain.parties import Actor, Decision, Role
from infra.db import utcnow
from infra.links import fmt_time
from infra.tables import HumanTask
from starter.console.auth import Sessions
from starter.console.scope import NotInScopeError, task_in_scope
from starter.services.core import inbox_filter

# Who may hand a task to someone else (Camunda: an administrator's "set assignee").
REASSIGNERS = frozenset({Role.OPS, Role.ECOSYSTEM_MANAGER, Role.PARTNER_ADMIN})
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


class ClaimError(Exception):
    """The claim, release or reassignment cannot be done; the message says why."""


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


def queue_name(task: HumanTask) -> str:
    """Whose queue the task sits in: ``finance``, ``partner_admin of P-1``..."""
    party = f" of {task.assignee_party}" if task.assignee_party else ""
    return f"{task.assignee_role}{party}"


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


async def claim(sessions: Sessions, actor: Actor, task_id: int) -> HumanTask:
    """Takes an open, unclaimed task in scope (claiming one's own claim again is fine)."""
    task = await task_in_scope(sessions, actor, task_id)
    if task.status != "open":
        raise ClaimError(f"this task is closed ({task.status}); nothing to claim")
    async with sessions.begin() as s:
        result = await s.execute(
            update(HumanTask)
            .where(
                HumanTask.id == task_id,
                HumanTask.status == "open",
                HumanTask.assignee_user.is_(None),
            )
            .values(assignee_user=actor.user_id)
        )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        fresh = await task_in_scope(sessions, actor, task_id)
        if fresh.assignee_user != actor.user_id:
            raise ClaimError(
                f"{fresh.assignee_user} claimed this task first; ask them to release it"
                + (" or reassign it" if actor.role in REASSIGNERS else "")
            )
    return await task_in_scope(sessions, actor, task_id)


async def release(sessions: Sessions, actor: Actor, task_id: int) -> HumanTask:
    """Puts a task back in the queue: its holder may, and those who may reassign."""
    task = await task_in_scope(sessions, actor, task_id)
    if task.assignee_user is None:
        raise ClaimError("nobody holds this task; it is already in the queue")
    if task.assignee_user != actor.user_id and actor.role not in REASSIGNERS:
        raise ClaimError(f"{task.assignee_user} holds this task; only they can release it")
    async with sessions.begin() as s:
        await s.execute(update(HumanTask).where(HumanTask.id == task_id).values(assignee_user=None))
    return await task_in_scope(sessions, actor, task_id)


async def reassign(sessions: Sessions, actor: Actor, task_id: int, to: Actor) -> HumanTask:
    """Hands an open task to another user who may act on it (ops, managers, partner admins)."""
    if actor.role not in REASSIGNERS:
        raise ClaimError("only ops, ecosystem managers and partner admins can reassign tasks")
    task = await task_in_scope(sessions, actor, task_id)
    if task.status != "open":
        raise ClaimError(f"this task is closed ({task.status})")
    async with sessions.begin() as s:
        await s.execute(
            update(HumanTask).where(HumanTask.id == task_id).values(assignee_user=to.user_id)
        )
        # The new holder must be able to act on it: the same scope rule, asked in the same
        # transaction; a refusal rolls the change back.
        visible = await s.scalar(
            select(HumanTask.id).where(HumanTask.id == task_id, inbox_filter(to))
        )
        if visible is None:
            await s.rollback()
            raise ClaimError(
                f"{to.user_id} ({to.role.value}) cannot act on this task: it waits for "
                f"{queue_name(task)}"
            )
    return await task_in_scope(sessions, actor, task_id)


def claim_decision(actor: Actor, nonce: str) -> Decision:
    """The Decision a renewal workflow's ``claim`` update takes."""
    return Decision(actor=actor, nonce=nonce)


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
    "reassign",
    "release",
]
