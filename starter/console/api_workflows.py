"""``/api/workflows/{id}``: what ``partnerflow show`` shows, for a workflow in the caller's
scope (``starter.services.core.describe_workflow``).

Scope: the case pages' rule (``starter.services.case_view.case``): a workflow outside the
caller's scope is 404, like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from infra.i18n import N_
from starter.console.api_base import PROBLEMS, CallerDep, ContextDep, not_found
from starter.services.case_view import case
from starter.services.cases import CaseNotFoundError
from starter.services.core import describe_workflow
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


@router.get("/{workflow_id}", response_model=WorkflowOut, summary=N_("One workflow (as `show`)"))
async def get_workflow(workflow_id: str, caller: CallerDep, ctx: ContextDep) -> WorkflowOut:
    """Status, timeline, tasks and emails of a workflow in your scope; 404 otherwise."""
    try:
        # The case pages' scope rule, so that the API and the console show the same cases.
        await case(ctx, caller.actor, workflow_id)
    except CaseNotFoundError:
        raise not_found(caller.locale) from None
    try:
        data = await describe_workflow(ctx, workflow_id)
    except BadInputError:  # ops asked for a workflow that does not exist
        raise not_found(caller.locale) from None
    return WorkflowOut.model_validate(to_jsonable(data))
