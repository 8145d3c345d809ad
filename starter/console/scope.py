"""What a signed-in actor may see: tasks by role and party; everything else is 404.

The rule for tasks is the CLI's ``partnerflow tasks --as`` filter (one rule, two doors):
partner users see their partner's tasks, a customer only its own, finance and managers the
tasks of their role, ops everything.
"""

from __future__ import annotations

from sqlalchemy import select

from domain.parties import Actor
from infra.tables import HumanTask
from starter.console.auth import Sessions
from starter.services.core import inbox_filter


class NotInScopeError(LookupError):
    """No such object within the actor's scope (the page answers 404 either way)."""


async def task_in_scope(sessions: Sessions, actor: Actor, task_id: int) -> HumanTask:
    """The task, when the actor may see it; NotInScopeError otherwise (or when missing)."""
    async with sessions() as s:
        row = await s.scalar(select(HumanTask).where(HumanTask.id == task_id, inbox_filter(actor)))
    if row is None:
        raise NotInScopeError(f"no task {task_id}")
    return row
