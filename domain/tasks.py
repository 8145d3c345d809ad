"""Payloads for human tasks and audit events, shared by every workflow."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.parties import Role


class OpenTask(BaseModel):
    """Opens a task once per ``key`` (a retry returns the same task)."""

    key: str
    kind: str
    title: str
    workflow_id: str
    assignee_role: Role
    assignee_party: str | None = None
    due_at: datetime | None = None
    created_at: datetime


class TaskRef(BaseModel):
    """A task row as the workflow needs it."""

    id: int
    key: str
    status: str


class CloseTask(BaseModel):
    """Closes a task (idempotent: closing a closed task changes nothing)."""

    key: str
    status: str = "done"  # done | cancelled | expired | escalated
    decision: str | None = None
    comment: str | None = None
    decided_by: str | None = None
    decided_at: datetime
    # Escalation re-assigns instead of closing.
    reassign_role: Role | None = None
    reassign_party: str | None = None


class AuditRecord(BaseModel):
    """One business event on a workflow's timeline (recorded once per key)."""

    key: str
    workflow_id: str
    event: str
    actor: str
    operator: str | None = None  # the person at the keyboard, when not the actor itself
    detail: str = ""
    occurred_at: datetime


class Bookkeeping(BaseModel):
    """A step's tasks and audit events, written in one transaction (each once per key).

    Applied in this order: tasks closed (or re-assigned), tasks opened, events recorded, so
    that a step that hands work on closes the old task before the new one shows up.
    """

    close: list[CloseTask] = []
    open: list[OpenTask] = []
    audit: list[AuditRecord] = []

    def empty(self) -> bool:
        """True when the step writes nothing."""
        return not (self.close or self.open or self.audit)


class Done(BaseModel):
    """An activity result that carries nothing but success."""

    ok: bool = True
