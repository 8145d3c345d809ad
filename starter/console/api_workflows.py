"""``/api/workflows/{id}``: what ``partnerflow show`` shows, for a workflow in the caller's
scope (``starter.services.core.describe_workflow``).

Scope: ops see every workflow; anyone else sees a workflow that has a task in their scope,
and partner and customer users the workflows whose own status names their partner or
customer. Anything else is 404, like a workflow that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from domain.parties import PARTNER_ROLES, Actor, Role
from infra.i18n import N_
from infra.tables import HumanTask
from starter.console import tasks as tk
from starter.console.api_base import PROBLEMS, CallerDep, ContextDep, not_found
from starter.services.context import AppContext
from starter.services.core import describe_workflow, inbox_filter
from starter.services.errors import BadInputError
from starter.services.jsonable import to_jsonable

router = APIRouter(prefix="/workflows", tags=["workflows"], responses=PROBLEMS)


class TimelineEntry(BaseModel):
    """A business event: what happened, who did it, when."""

    at: datetime
    event: str
    actor: str | None
    operator: str | None
    detail: str | None


class WorkflowTask(BaseModel):
    """A human task of the workflow, open or decided."""

    id: int
    kind: str
    title: str
    assignee_role: str
    assignee_party: str | None
    assignee_user: str | None
    due_at: datetime | None
    status: str
    decision: str | None
    comment: str | None
    decided_by: str | None
    decided_at: datetime | None


class WorkflowEmail(BaseModel):
    """An email of the workflow and how its delivery went."""

    to: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    at: datetime | None


class WorkflowOut(BaseModel):
    """A workflow: Temporal's description, its own status, timeline, tasks and emails."""

    workflow_id: str
    type: str
    run_id: str | None
    execution_status: str | None
    started: datetime | None
    closed: datetime | None
    state: Any
    timeline: list[TimelineEntry]
    tasks: list[WorkflowTask]
    emails: list[WorkflowEmail]


async def workflow_in_scope(ctx: AppContext, actor: Actor, workflow_id: str) -> bool:
    """Whether the actor may see the workflow (the module's rule); False for a missing one."""
    if actor.role == Role.OPS:
        return True
    async with ctx.sessions() as s:
        task = await s.scalar(
            select(HumanTask.id)
            .where(HumanTask.workflow_id == workflow_id, inbox_filter(actor))
            .limit(1)
        )
    if task is not None:
        return True
    if actor.role not in PARTNER_ROLES and actor.role != Role.CUSTOMER:
        return False
    facts = await tk.workflow_facts(await ctx.client(), workflow_id)
    if actor.role == Role.CUSTOMER:
        return actor.customer_id is not None and facts.get("customer_id") == actor.customer_id
    parties = {facts.get("partner_id"), facts.get("distributor_id")}
    return actor.partner_id is not None and actor.partner_id in parties


@router.get("/{workflow_id}", response_model=WorkflowOut, summary=N_("One workflow (as `show`)"))
async def get_workflow(workflow_id: str, caller: CallerDep, ctx: ContextDep) -> WorkflowOut:
    """Status, timeline, tasks and emails of a workflow in your scope; 404 otherwise."""
    if not await workflow_in_scope(ctx, caller.actor, workflow_id):
        raise not_found(caller.locale)
    try:
        data = await describe_workflow(ctx, workflow_id)
    except BadInputError:  # ops asked for a workflow that does not exist
        raise not_found(caller.locale) from None
    return WorkflowOut.model_validate(to_jsonable(data))
