"""Human tasks and audit events: the approver inbox and the workflow timelines."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from domain.errors import NotFoundError
from domain.tasks import AuditRecord, CloseTask, Done, OpenTask, TaskRef
from infra.db import insert_ignore
from infra.tables import AuditEvent, HumanTask


class TaskActivities:
    """Opens and closes human tasks, records audit events; all idempotent by key."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    @business_errors
    async def open_task(self, req: OpenTask) -> TaskRef:
        """Creates the task once; a retry returns the same row."""
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, HumanTask, ["idempotency_key"]).values(
                    idempotency_key=req.key,
                    kind=req.kind,
                    title=req.title,
                    workflow_id=req.workflow_id,
                    assignee_role=req.assignee_role.value,
                    assignee_party=req.assignee_party,
                    created_at=req.created_at,
                    due_at=req.due_at,
                    status="open",
                )
            )
            row = await s.scalar(select(HumanTask).where(HumanTask.idempotency_key == req.key))
            assert row is not None
            return TaskRef(id=row.id, key=row.idempotency_key, status=row.status)

    @activity.defn
    @business_errors
    async def close_task(self, req: CloseTask) -> TaskRef:
        """Closes (or re-assigns, for escalation) an open task; a closed one is left as it is."""
        async with self._sessions.begin() as s:
            row = await s.scalar(select(HumanTask).where(HumanTask.idempotency_key == req.key))
            if row is None:
                raise NotFoundError(f"no task with key {req.key}")
            if req.reassign_role is not None:
                if row.status == "open":
                    await s.execute(
                        update(HumanTask)
                        .where(HumanTask.id == row.id)
                        .values(
                            assignee_role=req.reassign_role.value,
                            assignee_party=req.reassign_party,
                            comment=req.comment,
                        )
                    )
            elif row.status == "open":
                await s.execute(
                    update(HumanTask)
                    .where(HumanTask.id == row.id, HumanTask.status == "open")
                    .values(
                        status=req.status,
                        decision=req.decision,
                        comment=req.comment,
                        decided_by=req.decided_by,
                        decided_at=req.decided_at,
                    )
                )
            row = await s.scalar(
                select(HumanTask)
                .where(HumanTask.id == row.id)
                .execution_options(populate_existing=True)
            )
            assert row is not None
            return TaskRef(id=row.id, key=row.idempotency_key, status=row.status)

    @activity.defn
    @business_errors
    async def record_audit(self, req: AuditRecord) -> Done:
        """Appends one event to the workflow's timeline (once per key)."""
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, AuditEvent, ["idempotency_key"]).values(
                    idempotency_key=req.key,
                    workflow_id=req.workflow_id,
                    event=req.event,
                    # The columns hold 64 characters; an id from a forged payload may not fit,
                    # and an audit that cannot be written would retry forever.
                    actor=req.actor[:64],
                    operator=req.operator[:64] if req.operator else None,
                    detail=req.detail,
                    occurred_at=req.occurred_at,
                )
            )
        return Done()
