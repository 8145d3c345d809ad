"""Human tasks and audit events: the approver inbox and the workflow timelines."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from domain.errors import NotFoundError
from domain.tasks import AuditRecord, Bookkeeping, CloseTask, Done, OpenTask, TaskRef
from infra.db import insert_ignore, table_of
from infra.tables import AuditEvent, HumanTask

# Built once, bound by name at execution (the hot path of every workflow's decisions).
_TASKS = table_of(HumanTask)
_BY_KEY = select(_TASKS.c.id, _TASKS.c.status).where(_TASKS.c.idempotency_key == bindparam("key"))
_CLOSE_OPEN = (
    update(_TASKS)
    .where(_TASKS.c.idempotency_key == bindparam("key"), _TASKS.c.status == "open")
    .values(
        status=bindparam("new_status"),
        decision=bindparam("new_decision"),
        comment=bindparam("new_comment"),
        decided_by=bindparam("new_decided_by"),
        decided_at=bindparam("new_decided_at"),
    )
    .returning(_TASKS.c.id)
)


class TaskActivities:
    """Opens and closes human tasks, records audit events; all idempotent by key."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    @business_errors
    async def open_task(self, req: OpenTask) -> TaskRef:
        """Creates the task once; a retry returns the same row."""
        async with self._sessions.begin() as s:
            return await open_task_in(s, req)

    @activity.defn
    @business_errors
    async def close_task(self, req: CloseTask) -> TaskRef:
        """Closes (or re-assigns, for escalation) an open task; a closed one is left as it is."""
        async with self._sessions.begin() as s:
            return await close_task_in(s, req)

    @activity.defn
    @business_errors
    async def record_audit(self, req: AuditRecord) -> Done:
        """Appends one event to the workflow's timeline (once per key)."""
        async with self._sessions.begin() as s:
            await record_audit_in(s, req)
        return Done()

    @activity.defn
    @business_errors
    async def record_step(self, step: Bookkeeping) -> Done:
        """A step's tasks and audit events in one transaction: one activity round instead of
        one per record (each part stays idempotent by its own key, so a retry is harmless)."""
        async with self._sessions.begin() as s:
            await apply_step(s, step)
        return Done()


async def apply_step(s: AsyncSession, step: Bookkeeping | None) -> None:
    """Writes ``step`` in the caller's transaction: the state-row activities call this so that
    a decision's row, tasks and events commit together."""
    if step is None:
        return
    for closing in step.close:
        await close_task_in(s, closing)
    for opening in step.open:
        await open_task_in(s, opening)
    for event in step.audit:
        await record_audit_in(s, event)


async def open_task_in(s: AsyncSession, req: OpenTask) -> TaskRef:
    """Creates the task once per key in ``s``; a retry returns the same row."""
    row_id = await s.scalar(
        insert_ignore(s, HumanTask, ["idempotency_key"], returning=["id"]),
        {
            "idempotency_key": req.key,
            "kind": req.kind,
            "title": req.title,
            "workflow_id": req.workflow_id,
            "assignee_role": req.assignee_role.value,
            "assignee_party": req.assignee_party,
            "created_at": req.created_at,
            "due_at": req.due_at,
            "status": "open",
        },
    )
    if row_id is not None:
        return TaskRef(id=row_id, key=req.key, status="open")
    return await _task_ref(s, req.key)  # a retry: the row the first attempt wrote


async def close_task_in(s: AsyncSession, req: CloseTask) -> TaskRef:
    """Closes (or re-assigns) the open task with ``req.key`` in ``s``; a closed one is left."""
    if req.reassign_role is None:
        # One statement in the usual case: the open task closed, its id returned.
        closed = await s.scalar(
            _CLOSE_OPEN,
            {
                "key": req.key,
                "new_status": req.status,
                "new_decision": req.decision,
                "new_comment": req.comment,
                "new_decided_by": req.decided_by,
                "new_decided_at": req.decided_at,
            },
        )
        if closed is not None:
            return TaskRef(id=closed, key=req.key, status=req.status)
        return await _task_ref(s, req.key)  # closed before (a retry), or missing
    ref = await _task_ref(s, req.key)
    if ref.status == "open":
        await s.execute(
            update(HumanTask)
            .where(HumanTask.id == ref.id)
            .values(
                assignee_role=req.reassign_role.value,
                assignee_party=req.reassign_party,
                comment=req.comment,
            )
        )
    return ref


async def record_audit_in(s: AsyncSession, req: AuditRecord) -> None:
    """Appends one event to the workflow's timeline in ``s`` (once per key)."""
    await s.execute(
        insert_ignore(s, AuditEvent, ["idempotency_key"]),
        {
            "idempotency_key": req.key,
            "workflow_id": req.workflow_id,
            "event": req.event,
            # The columns hold 64 characters; an id from a forged payload may not fit,
            # and an audit that cannot be written would retry forever.
            "actor": req.actor[:64],
            "operator": req.operator[:64] if req.operator else None,
            "detail": req.detail,
            "occurred_at": req.occurred_at,
        },
    )


async def _task_ref(s: AsyncSession, key: str) -> TaskRef:
    """The task with idempotency key ``key`` as it stands; ``not_found`` when there is none."""
    row = (await s.execute(_BY_KEY, {"key": key})).first()
    if row is None:
        raise NotFoundError(f"no task with key {key}")
    return TaskRef(id=row.id, key=key, status=row.status)
