"""Unbinding (binding change) services: building, pre-checking, starting and deciding requests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy

from activities.unbinding import change_context
from domain.invitations import describe_refusals
from domain.parties import Actor, AssociationMode, Decision
from domain.rules import status_rule
from domain.unbinding import (
    ChangeContext,
    ChangeKind,
    ChangeRequest,
    ChangeRequestView,
    FrequencyLimit,
    RequestStatus,
    request_refusals,
)
from infra.config import Settings
from infra.db import utcnow
from infra.tables.unbinding import BindingChangeRequest
from infra.temporal import index_attributes
from starter.imports import unbinding as imports_unbinding
from starter.services.context import (
    AppContext,
    operator,
    parse_duration,
    start_checked,
    temporal_errors,
)
from starter.services.errors import BadInputError, RefusedError
from workflows.unbinding import UnbindingWorkflow

# Importing the module registers the `customer-vouchers` and `resale-allocations` imports.
IMPORT_KINDS = imports_unbinding.KINDS


def change_workflow_id(binding_id: int) -> str:
    """The business key: one open change request per binding."""
    return f"binding-change-{binding_id}"


def parse_window(
    window: str | None, reminder_before: str | None
) -> tuple[timedelta | None, timedelta | None]:
    """``--window`` and ``--reminder-before``, parsed before anything else is looked up."""
    return (
        parse_duration(window, "--window") if window else None,
        parse_duration(reminder_before, "--reminder-before", allow_zero=True)
        if reminder_before
        else None,
    )


def change_request(
    settings: Settings,
    binding_id: int,
    kind: ChangeKind,
    actor: Actor,
    *,
    to_mode: AssociationMode | None = None,
    reason: str | None = None,
    window: timedelta | None = None,
    reminder_before: timedelta | None = None,
) -> ChangeRequest:
    """A request with the window and reminder given (else configured) and the frequency
    limit."""
    s = settings
    return ChangeRequest(
        binding_id=binding_id,
        kind=kind,
        to_mode=to_mode,
        requested_by=actor,
        reason=reason,
        approval_window=window if window is not None else s.unbind_approval_window,
        reminder_before=reminder_before
        if reminder_before is not None
        else s.unbind_reminder_before,
        frequency=FrequencyLimit(
            window_months=s.unbind_frequency_window_months,
            max_partner_requests=s.unbind_max_partner_requests,
            max_customer_requests=s.unbind_max_customer_requests,
        ),
        immediate_consulting_unbind=s.unbind_immediate_consulting,
    )


async def precheck(ctx: AppContext, req: ChangeRequest) -> ChangeContext:
    """The same rules the workflow applies, run first so a refusal writes nothing."""
    async with ctx.sessions() as s:
        facts = await change_context(s, req.binding_id)
    if facts.binding is None:
        raise BadInputError(f"--binding: no binding with id {req.binding_id}")
    refusals = request_refusals(facts, req, utcnow())
    if refusals:
        raise RefusedError(
            describe_refusals(refusals),
            rule=refusals[0].rule,
            details=refusals,
        )
    return facts


async def start_change(ctx: AppContext, req: ChangeRequest) -> ChangeRequestView:
    """Pre-checks, starts the workflow and waits until the other side has been asked."""
    facts = await precheck(ctx, req)
    assert facts.binding is not None
    client = await ctx.client()
    wf_id = change_workflow_id(req.binding_id)
    # Start and wait for the first checks in one call (update-with-start), no status polling.
    start = WithStartWorkflowOperation(
        UnbindingWorkflow.run,
        req,
        id=wf_id,
        task_queue=ctx.settings.task_queue,
        search_attributes=_search_attributes(facts),
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    view = await start_checked(
        client,
        UnbindingWorkflow.checked,
        start,
        what=f"binding {req.binding_id}",
        started=f"request {wf_id}",
    )
    if view.status == RequestStatus.REFUSED:
        rule = view.refusals[0].rule if view.refusals else "refused"
        raise RefusedError(view.reason or "refused", rule=rule, details=view)
    return view


def _search_attributes(facts: ChangeContext) -> TypedSearchAttributes:
    # infra.temporal.index_attributes is the one way starters index a workflow by party.
    assert facts.binding is not None
    return index_attributes(
        partner_id=facts.binding.partner_id, customer_id=facts.binding.customer_id
    )


async def resolve_request(ctx: AppContext, ref: str) -> str:
    """A request number or a workflow id -> the workflow id."""
    if not ref.isdigit():
        return ref
    async with ctx.sessions() as s:
        wf_id = await s.scalar(
            select(BindingChangeRequest.workflow_id).where(BindingChangeRequest.id == int(ref))
        )
    if wf_id is None:
        raise BadInputError(f"REQUEST: no change request {ref}")
    return wf_id


async def decide(
    ctx: AppContext, ref: str, action: str, actor: Actor, comment: str | None
) -> ChangeRequestView:
    """Runs a decision update; after the workflow ended, reports what happened instead."""
    wf_id = await resolve_request(ctx, ref)
    client = await ctx.client()
    handle = client.get_workflow_handle_for(UnbindingWorkflow.run, wf_id)
    update = {
        "approve": UnbindingWorkflow.approve,
        "reject": UnbindingWorkflow.reject,
        "cancel": UnbindingWorkflow.cancel,
    }[action]
    try:
        async with temporal_errors(f"request {action}"):
            return await handle.execute_update(
                update,
                Decision(operator=operator(), actor=actor, comment=comment),
                id=f"{action}-{uuid.uuid4()}",
            )
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        async with ctx.sessions() as s:
            row = await s.scalar(
                select(BindingChangeRequest)
                .where(BindingChangeRequest.workflow_id == wf_id)
                .order_by(BindingChangeRequest.id.desc())
            )
        if row is None:
            raise BadInputError(f"REQUEST: no change request {ref!r}") from None
        when = row.decided_at or row.expires_at
        detail = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
        by = f" by {row.decided_by}" if row.decided_by else ""
        raise RefusedError(
            f"request {row.id} ({wf_id}) is already {row.status.lower()}{by}{detail}",
            rule=status_rule("request", row.status),
        ) from None
