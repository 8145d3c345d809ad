"""A step's records, written by one activity: its state row, the tasks it closes and opens,
and its audit events.

A decision used to write each record with its own activity: an approval closed its task,
recorded its event, wrote the application row and opened the next task in four activity
rounds, each a schedule, a dispatch, a completion and a workflow task on the server. Now the
workflow builds the records (:func:`task_opened`, :func:`task_closed`, :func:`event`, a
:class:`StateWrite` for the row) and :func:`write_step` hands them to one activity that
commits them in one transaction. Each record keeps its own idempotency key, so a retried
activity writes nothing twice, and the records commit together or not at all.

Workflows started before this change (no ``ONE_STEP`` marker in their history) still write
each record with its own activity, in the order given: the order of their calls in the code
they were started with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.tasks import TaskActivities
    from domain.parties import Role
    from domain.tasks import AuditRecord, Bookkeeping, CloseTask, OpenTask

from workflows.guard import bound, invariant
from workflows.options import ACTIVITY_TIMEOUT, RETRY

# workflow.patched id: a step's records written by one activity (see the module docstring).
ONE_STEP = "records-in-one-step"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class StateWrite(Generic[M]):
    """The step's state row: ``activity`` called with ``req``, whose ``step`` field carries the
    step's tasks and events into the same transaction."""

    activity: Callable[[Any, M], Awaitable[Any]]
    req: M


Entry = OpenTask | CloseTask | AuditRecord | StateWrite[Any]


def task_opened(
    key: str, kind: str, title: str, role: Role, party: str | None, due_at: datetime | None
) -> OpenTask:
    """A human task to open (once per key)."""
    return OpenTask(
        key=key,
        kind=kind,
        title=title,
        workflow_id=workflow.info().workflow_id,
        assignee_role=role,
        assignee_party=party,
        due_at=due_at,
        created_at=workflow.now(),
    )


def task_closed(
    key: str,
    status: str,
    *,
    decision: str | None = None,
    comment: str | None = None,
    decided_by: str | None = None,
) -> CloseTask:
    """A human task to close with its outcome."""
    return CloseTask(
        key=key,
        status=status,
        decision=decision,
        comment=comment,
        decided_by=decided_by,
        decided_at=workflow.now(),
    )


def task_reassigned(key: str, role: Role, party: str | None, comment: str) -> CloseTask:
    """Escalation: the open task moves to another role."""
    return CloseTask(
        key=key,
        decided_at=workflow.now(),
        reassign_role=role,
        reassign_party=party,
        comment=comment,
    )


def event(
    key: str, name: str, actor: str, detail: str = "", *, operator: str | None = None
) -> AuditRecord:
    """One business event for this workflow's timeline (once per key).

    The operator (who typed the command for ``actor``) defaults to the one that came with
    ``actor``'s last verified decision in this run.
    """
    return AuditRecord(
        key=key,
        workflow_id=workflow.info().workflow_id,
        event=name,
        actor=actor,
        operator=operator or operators().get(actor),
        detail=detail,
        occurred_at=workflow.now(),
    )


def operators() -> dict[str, str]:
    """Who typed the last verified decision of each actor in this run."""
    # Kept on the workflow instance (not a module global): one map per run, gone with it,
    # rebuilt on replay because the handlers that fill it run again.
    instance = workflow.instance()
    found: dict[str, str] | None = getattr(instance, "_pf_operators", None)
    if found is None:
        found = {}
        instance._pf_operators = found
    return found


async def write_step(*parts: Entry | Callable[[], None]) -> None:
    """Writes the step's records: one activity and one transaction (see the module docstring).

    At most one entry is a :class:`StateWrite`; the tasks and events then ride in its request.
    A part may also be a function that changes the workflow's state: it runs once the records
    are written; in a run started before the change it runs where it stands among them, as
    the state changed between those activities then (a waiting ``run()`` may have seen it, so
    replay must see it at the same point). Records built after such a change in the code must
    be built with the state it will make (e.g. ``status=`` given explicitly).

    Every record is built before the first is written: a record whose presence depends on
    state that another handler or ``run()`` may change while an earlier record is written
    (a status checked after a write, an escalation flag) belongs in the next step.
    """
    entries = [p for p in parts if not callable(p)]
    effects = [p for p in parts if callable(p)]
    if len(entries) == 1 and not isinstance(entries[0], StateWrite):
        await _write_alone(entries[0])  # a lone record keeps its own activity
    elif entries and not workflow.patched(ONE_STEP):
        for part in parts:  # a run started before the change: one activity each, in order
            if callable(part):
                part()
            else:
                await _write_alone(part)
        return
    elif entries:
        await _write_together(entries)
    for effect in effects:
        effect()


async def _write_together(entries: list[Entry]) -> None:
    states = [e for e in entries if isinstance(e, StateWrite)]
    invariant(len(states) <= 1, "a step writes at most one state row")
    book = Bookkeeping(
        close=[e for e in entries if isinstance(e, CloseTask)],
        open=[e for e in entries if isinstance(e, OpenTask)],
        audit=[e for e in entries if isinstance(e, AuditRecord)],
    )
    if states:
        state = states[0]
        req = state.req.model_copy(update={"step": None if book.empty() else book})
        await _execute(state.activity, req)
    else:
        await _execute(TaskActivities.record_step, book)


async def _write_alone(entry: Entry) -> None:
    if isinstance(entry, StateWrite):
        await _execute(entry.activity, entry.req)
    elif isinstance(entry, OpenTask):
        await _execute(TaskActivities.open_task, entry)
    elif isinstance(entry, CloseTask):
        await _execute(TaskActivities.close_task, entry)
    else:
        await _execute(TaskActivities.record_audit, entry)


async def _execute(activity: Callable[[Any, M], Awaitable[Any]], req: M) -> None:
    await workflow.execute_activity_method(
        activity,
        req,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        schedule_to_close_timeout=bound(),
        retry_policy=RETRY,
    )
