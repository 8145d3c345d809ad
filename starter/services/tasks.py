"""Human tasks for every front door: the scope rule, claim, release and reassign.

A claim is the task row's ``assignee_user``: one UPDATE guarded by ``assignee_user IS NULL``
decides between two people claiming at once. A renewal task also has a claim inside its
workflow (the partner's staff take the order): claiming it here claims it there too.
Outside the actor's scope a task is "not found", like a task that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain.parties import Actor, Decision, Role
from domain.text import N_, TranslatableError
from infra.tables import HumanTask
from starter.services.context import temporal_errors
from starter.services.core import inbox_filter
from workflows.renewal import RenewalWorkflow

Sessions = async_sessionmaker[AsyncSession]

# Who may hand a task to someone else (Camunda: an administrator's "set assignee").
REASSIGNERS = frozenset({Role.OPS, Role.ECOSYSTEM_MANAGER, Role.PARTNER_ADMIN})


class NotInScopeError(LookupError):
    """No such task within the actor's scope (a page answers 404 either way)."""


class ClaimError(TranslatableError):
    """The claim, release or reassignment cannot be done; the message says why.

    ``rule`` is its id in ``domain.rules``; ``str()`` is the English sentence (the CLI's), and
    ``translated`` the same sentence in a page's or the API's language (catalogs)."""

    def __init__(self, rule: str, message: str, **params: str) -> None:
        self.rule = rule
        super().__init__(message, **params)


def queue_name(task: HumanTask) -> str:
    """Whose queue the task sits in: ``finance``, ``partner_admin of P-1``..."""
    party = f" of {task.assignee_party}" if task.assignee_party else ""
    return f"{task.assignee_role}{party}"


async def task_in_scope(sessions: Sessions, actor: Actor, task_id: int) -> HumanTask:
    """The task, when the actor may see it (``partnerflow tasks --as``'s rule); else
    NotInScopeError, also when it does not exist."""
    async with sessions() as s:
        row = await s.scalar(select(HumanTask).where(HumanTask.id == task_id, inbox_filter(actor)))
    if row is None:
        raise NotInScopeError(f"no task {task_id} for {actor.user_id}")
    return row


async def claim(
    sessions: Sessions,
    actor: Actor,
    task_id: int,
    client: Callable[[], Awaitable[Client]] | None = None,
) -> HumanTask:
    """Takes an open, unclaimed task in scope (claiming one's own claim again is fine).

    A renewal task is claimed in its workflow first (``client`` needed): the workflow keeps
    its own claimer and refuses the others' feedback. ``client`` connects only then.
    """
    task = await task_in_scope(sessions, actor, task_id)
    if task.status != "open":
        raise ClaimError(
            "task_closed",
            N_("this task is closed (%(status)s); nothing to claim"),
            status=task.status,
        )
    if task.kind == "renewal_task" and task.assignee_user is None:
        if client is None:
            raise ClaimError(
                "temporal_unreachable",
                N_("claiming a renewal task needs the Temporal connection"),
            )
        handle = (await client()).get_workflow_handle(task.workflow_id)
        async with temporal_errors("claim"):
            await handle.execute_update(
                RenewalWorkflow.claim, Decision(actor=actor), id=f"claim-{uuid.uuid4().hex}"
            )
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
                "task_held",
                N_("%(user)s claimed this task first; ask them to release it or reassign it")
                if actor.role in REASSIGNERS
                else N_("%(user)s claimed this task first; ask them to release it"),
                user=str(fresh.assignee_user),
            )
    return await task_in_scope(sessions, actor, task_id)


async def release(sessions: Sessions, actor: Actor, task_id: int) -> HumanTask:
    """Puts a task back in the queue: its holder may, and those who may reassign."""
    task = await task_in_scope(sessions, actor, task_id)
    if task.assignee_user is None:
        raise ClaimError("task_not_held", N_("nobody holds this task; it is already in the queue"))
    if task.assignee_user != actor.user_id and actor.role not in REASSIGNERS:
        raise ClaimError(
            "task_held",
            N_("%(user)s holds this task; only they can release it"),
            user=task.assignee_user,
        )
    async with sessions.begin() as s:
        await s.execute(update(HumanTask).where(HumanTask.id == task_id).values(assignee_user=None))
    return await task_in_scope(sessions, actor, task_id)


async def reassign(sessions: Sessions, actor: Actor, task_id: int, to: Actor) -> HumanTask:
    """Hands an open task to another user who may act on it (ops, managers, partner admins)."""
    if actor.role not in REASSIGNERS:
        raise ClaimError(
            "reassign_not_allowed",
            N_("only ops, ecosystem managers and partner admins can reassign tasks"),
        )
    task = await task_in_scope(sessions, actor, task_id)
    if task.status != "open":
        raise ClaimError("task_closed", N_("this task is closed (%(status)s)"), status=task.status)
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
                "reassignee_out_of_scope",
                N_("%(user)s (%(role)s) cannot act on this task: it waits for %(queue)s"),
                user=to.user_id,
                role=to.role.value,
                queue=queue_name(task),
            )
    return await task_in_scope(sessions, actor, task_id)
