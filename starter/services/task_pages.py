"""The inbox a page at a time: tasks in the actor's scope in the inbox's order (overdue and
soonest due first, no due date last), continued by an opaque cursor.

The cursor is the last row's sort key, so a page never repeats or skips a task when tasks
are added or closed between two requests (keyset pagination, not offsets).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.parties import Actor
from infra.tables import HumanTask
from starter.services.core import inbox_filter
from starter.services.errors import BadInputError

Sessions = async_sessionmaker[AsyncSession]

MAX_PAGE = 200


class TaskState(StrEnum):
    """Which tasks: open ones (the inbox), closed ones, or both."""

    OPEN = "open"
    CLOSED = "closed"
    ALL = "all"


class Holder(StrEnum):
    """Whose tasks among those in scope: mine, the queue's (nobody's), others', or any."""

    ME = "me"
    QUEUE = "queue"
    OTHERS = "others"
    ANY = "any"


@dataclass(frozen=True)
class TaskPage:
    """One page of tasks, and the cursor of the next page (None: this is the last)."""

    tasks: list[HumanTask]
    next_cursor: str | None


def _encode(task: HumanTask) -> str:
    key = [task.due_at.isoformat() if task.due_at else None, task.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        due, task_id = json.loads(raw)
        return (datetime.fromisoformat(due) if due is not None else None), int(task_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadInputError(
            "cursor: not a cursor this API gave out; start again without it",
            rule="invalid_cursor",
        ) from None


def _after(due: datetime | None, task_id: int) -> Any:
    """Rows after the key (due_at, id) in the order: due dates ascending, then no due date."""
    if due is None:
        return and_(HumanTask.due_at.is_(None), HumanTask.id > task_id)
    return or_(
        HumanTask.due_at > due,
        and_(HumanTask.due_at == due, HumanTask.id > task_id),
        HumanTask.due_at.is_(None),
    )


async def tasks_page(
    sessions: Sessions,
    actor: Actor,
    *,
    state: TaskState = TaskState.OPEN,
    holder: Holder = Holder.ANY,
    cursor: str | None = None,
    limit: int = 50,
) -> TaskPage:
    """Tasks in the actor's scope (``partnerflow tasks --as``'s rule), a page at a time."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadInputError(f"limit: between 1 and {MAX_PAGE}", rule="invalid_input")
    query = select(HumanTask).where(inbox_filter(actor))
    if state == TaskState.OPEN:
        query = query.where(HumanTask.status == "open")
    elif state == TaskState.CLOSED:
        query = query.where(HumanTask.status != "open")
    if holder == Holder.ME:
        query = query.where(HumanTask.assignee_user == actor.user_id)
    elif holder == Holder.QUEUE:
        query = query.where(HumanTask.assignee_user.is_(None))
    elif holder == Holder.OTHERS:
        query = query.where(HumanTask.assignee_user != actor.user_id)
    if cursor:
        query = query.where(_after(*_decode(cursor)))
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
    async with sessions() as s:
        rows = list((await s.scalars(query.limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return TaskPage(rows, _encode(rows[-1]) if more and rows else None)
