"""Platform services: workflow views and lists, the task inbox filter, outbox mail, import hooks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, true
from temporalio.client import WorkflowHandle

from domain.invitations import EmailChanged
from domain.parties import PARTNER_ROLES, Actor, Role
from infra.smtp_sink import read_mail_dir
from infra.tables import AuditEvent, EmailOutbox, HumanTask, Invitation
from starter.services.context import AppContext, load_settings
from starter.services.errors import BadInputError
from starter.services.jsonable import to_jsonable


def inbox_filter(actor: Actor) -> Any:
    """The tasks a user may act on: by role, and for partner/customer users by party."""
    if actor.role in PARTNER_ROLES:
        mine = HumanTask.assignee_party == actor.partner_id
        if actor.role == Role.PARTNER_ADMIN:  # the admin sees every task of the partner
            roles = [Role.PARTNER_ADMIN.value, Role.PARTNER_STAFF.value]
            return and_(mine, HumanTask.assignee_role.in_(roles))
        # staff see staff tasks that are unclaimed or claimed by them
        return and_(
            mine,
            HumanTask.assignee_role == Role.PARTNER_STAFF.value,
            or_(HumanTask.assignee_user.is_(None), HumanTask.assignee_user == actor.user_id),
        )
    if actor.role == Role.CUSTOMER:
        return and_(
            HumanTask.assignee_role == Role.CUSTOMER.value,
            HumanTask.assignee_party == actor.customer_id,
        )
    if actor.role == Role.OPS:
        return true()  # ops see everything
    return HumanTask.assignee_role == actor.role.value


@dataclass(frozen=True)
class Execution:
    """What Temporal says about a workflow: its description and its ``status`` query."""

    workflow_type: str
    run_id: str | None
    status: str | None
    started: datetime | None
    closed: datetime | None
    state: Any
    search_attributes: dict[str, Any]
    handle: WorkflowHandle[Any, Any]


async def workflow_execution(ctx: AppContext, workflow_id: str) -> Execution | None:
    """Temporal's description and the ``status`` query's answer (or why it did not answer);
    None when Temporal does not know the workflow id."""
    from temporalio.service import RPCError

    client = await ctx.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        desc = await handle.describe()
    except RPCError:
        return None
    state: Any = None
    try:
        state = await asyncio.wait_for(handle.query("status"), 10)
    except Exception as exc:
        state = {"unavailable": f"{type(exc).__name__}: {exc}"[:300]}
    return Execution(
        workflow_type=desc.workflow_type,
        run_id=desc.run_id,
        status=desc.status.name if desc.status else None,
        started=desc.start_time,
        closed=desc.close_time,
        state=to_jsonable(state),
        search_attributes={p.key.name: p.value for p in desc.typed_search_attributes},
        handle=handle,
    )


async def describe_workflow(ctx: AppContext, workflow_id: str) -> dict[str, Any]:
    """Temporal's description, the ``status`` query, the timeline, tasks and emails."""
    ex = await workflow_execution(ctx, workflow_id)
    if ex is None:
        raise BadInputError(f"no workflow with id {workflow_id!r}")
    records = await workflow_records(ctx, workflow_id)
    return {
        "workflow_id": workflow_id,
        "type": ex.workflow_type,
        "run_id": ex.run_id,
        "execution_status": ex.status,
        "started": ex.started,
        "closed": ex.closed,
        "state": ex.state,
        "timeline": [
            {
                "at": e.occurred_at,
                "event": e.event,
                "actor": e.actor,
                "operator": e.operator,
                "detail": e.detail,
            }
            for e in records.events
        ],
        "tasks": [_task_dict(t) for t in records.tasks],
        "emails": [
            {
                "to": m.to_addr,
                "subject": m.subject,
                "status": m.status,
                "attempts": m.attempts,
                "last_error": m.last_error,
                "at": m.sent_at or m.created_at,
            }
            for m in records.emails
        ],
    }


@dataclass(frozen=True)
class WorkflowRecords:
    """What the database holds about one workflow: business events, tasks, emails."""

    events: list[AuditEvent]
    tasks: list[HumanTask]
    emails: list[EmailOutbox]


async def workflow_records(ctx: AppContext, workflow_id: str) -> WorkflowRecords:
    """A workflow's audit events (oldest first), human tasks and outbox emails."""
    async with ctx.sessions() as s:
        events = (
            await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.workflow_id == workflow_id)
                .order_by(AuditEvent.occurred_at, AuditEvent.id)
            )
        ).all()
        task_rows = (
            await s.scalars(
                select(HumanTask).where(HumanTask.workflow_id == workflow_id).order_by(HumanTask.id)
            )
        ).all()
        mails = (
            await s.scalars(
                select(EmailOutbox)
                .where(EmailOutbox.workflow_id == workflow_id)
                .order_by(EmailOutbox.id)
            )
        ).all()
    return WorkflowRecords(list(events), list(task_rows), list(mails))


def visibility_query(
    type_: str | None, status: str | None, partner: str | None, customer: str | None
) -> str:
    """A visibility list filter; values are quoted so ids cannot change the query."""

    def q(v: str) -> str:
        if "'" in v or "\\" in v:
            raise BadInputError(f"invalid character in filter value {v!r}")
        return f"'{v}'"

    parts = []
    if type_:
        parts.append(f"WorkflowType = {q(type_)}")
    if status:
        parts.append(f"BusinessStatus = {q(status.upper())}")
    if partner:
        parts.append(f"PartnerId = {q(partner)}")
    if customer:
        parts.append(f"CustomerId = {q(customer)}")
    return " AND ".join(parts)


def _task_dict(t: HumanTask) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind,
        "title": t.title,
        "workflow_id": t.workflow_id,
        "assignee_role": t.assignee_role,
        "assignee_party": t.assignee_party,
        "assignee_user": t.assignee_user,
        "due_at": t.due_at,
        "status": t.status,
        "decision": t.decision,
        "comment": t.comment,
        "decided_by": t.decided_by,
        "decided_at": t.decided_at,
    }


def _mail_rows(to: str | None) -> list[dict[str, Any]]:
    directory = load_settings().dev_mail_dir
    rows = []
    for mid, msg in read_mail_dir(directory):
        if to and to not in str(msg["To"]):
            continue
        rows.append(
            {
                "id": mid,
                "to": str(msg["To"]),
                "subject": str(msg["Subject"]),
                "date": str(msg["Date"]),
            }
        )
    return rows


async def _signal_email_changes(ctx: AppContext, result: Any) -> None:
    changed: dict[str, str] = result.extra.get("email_changed", {})
    if not changed:
        return
    async with ctx.sessions() as s:
        pending = (
            await s.scalars(
                select(Invitation).where(
                    Invitation.customer_id.in_(list(changed)), Invitation.status == "PENDING"
                )
            )
        ).all()
    if not pending:
        return
    client = await ctx.client()
    for inv in pending:
        await client.get_workflow_handle(inv.workflow_id).signal(
            "customer_email_changed", EmailChanged(new_email=changed[inv.customer_id])
        )
        result.notes.append(
            f"pending invitation {inv.workflow_id} re-sent to {changed[inv.customer_id]}"
        )


AFTER_IMPORT: dict[str, Any] = {"customers": _signal_email_changes}
