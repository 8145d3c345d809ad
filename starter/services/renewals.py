"""Renewal and customer-authorization services: scans, renewal tasks, authorizations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities.renewals import AuthorizationActivities
from domain.authorizations import (
    AuthorizationRequest,
    AuthorizationStatus,
    AuthorizationView,
    authorization_refusals,
    authorization_workflow_id,
    requester_refusal,
)
from domain.parties import PARTNER_ROLES, Actor, AssociationMode, Decision, PartnerType, Role
from domain.renewal_models import AuthorizationContextQuery, AuthorizationLookup
from domain.renewals import (
    FINAL_STATUSES,
    RenewalFeedback,
    RenewalOutcome,
    RenewalPolicy,
    RenewalScanRequest,
    RenewalScanResult,
    RenewalTimings,
    RenewalView,
    SubscriptionChanged,
    feedback_input_refusal,
    partner_payment_refusal,
    scan_workflow_id,
)
from domain.rules import status_rule
from infra.config import Settings
from infra.db import utcnow
from infra.tables import Partner, RenewalTask, Subscription
from infra.temporal import index_attributes
from starter.imports.base import ImportResult
from starter.services.context import (
    NO_WORKER_AFTER,
    AppContext,
    operator,
    settle,
    temporal_errors,
)
from starter.services.decisions import decision_update
from starter.services.errors import BadInputError, CliError, RefusedError
from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.renewal_scan import RenewalScanWorkflow


def renewal_policy(s: Settings) -> RenewalPolicy:
    """The scan's selection parameters from Settings."""
    return RenewalPolicy(
        threshold=s.big_order_threshold,
        yearly_lead=s.renewal_yearly_lead,
        monthly_lead=s.renewal_monthly_lead,
    )


def renewal_timings(s: Settings) -> RenewalTimings:
    """The durations of renewal tasks and their authorizations from Settings."""
    return RenewalTimings(
        reminders_before=list(s.renewal_reminders_before),
        escalate_unclaimed_before=s.renewal_escalate_unclaimed_before,
        billing_check_interval=s.renewal_billing_check,
        authorization_validity=s.authorization_validity,
        authorization_request_window=s.authorization_request_window,
    )


def scan_request(s: Settings, as_of: datetime | None) -> RenewalScanRequest:
    """The scan's input; ``as_of`` None lets the workflow use its own clock (the schedule)."""
    return RenewalScanRequest(
        as_of=as_of,
        policy=renewal_policy(s),
        timings=renewal_timings(s),
        page_size=s.renewal_scan_page_size,
    )


async def signal_extended_orders(ctx: AppContext, result: ImportResult) -> None:
    """After the commit: renewal tasks of orders whose expiry moved later look at billing now.

    Best effort: if Temporal is unreachable, each task's daily billing check finds it anyway.
    """
    extended: dict[str, str] = result.extra.get("expiry_extended", {})
    if not extended:
        return
    async with ctx.sessions() as s:
        tasks = (
            await s.scalars(
                select(RenewalTask).where(
                    RenewalTask.order_id.in_(list(extended)),
                    RenewalTask.status.not_in([st.value for st in FINAL_STATUSES]),
                    RenewalTask.workflow_started.is_(True),
                )
            )
        ).all()
        subs = {
            x.order_id: x
            for x in (
                await s.scalars(
                    select(Subscription).where(Subscription.order_id.in_(list(extended)))
                )
            ).all()
        }
    if not tasks:
        return
    try:
        client = await ctx.client()
    except CliError as exc:
        result.notes.append(f"{exc.message}: the daily billing check will see the renewals")
        return
    for task in tasks:
        sub = subs[task.order_id]
        try:
            async with temporal_errors("signal renewal"):
                await client.get_workflow_handle(task.workflow_id).signal(
                    RenewalWorkflow.subscription_changed,
                    SubscriptionChanged(
                        order_id=sub.order_id, expires_at=sub.expires_at, auto_renew=sub.auto_renew
                    ),
                )
        except CliError as exc:
            result.notes.append(f"renewal task {task.workflow_id}: {exc.message}")
            continue
        result.notes.append(
            f"order {sub.order_id} now expires {sub.expires_at:%Y-%m-%d}: "
            f"renewal task {task.workflow_id} told"
        )


def parse_as_of(value: str | None) -> datetime:
    """``--as-of YYYY-MM-DD`` as the start of that day (UTC), or now."""
    if value is None:
        return utcnow()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"--as-of: {value!r} is not a date like 2027-03-01") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def run_scan(ctx: AppContext, as_of: datetime) -> RenewalScanResult:
    """Runs the scan of ``as_of``'s day and waits for its counts (joins a running one)."""
    client = await ctx.client()
    async with temporal_errors("renewals scan"):
        result: RenewalScanResult = await client.execute_workflow(
            RenewalScanWorkflow.run,
            scan_request(ctx.settings, as_of),
            id=scan_workflow_id(as_of),
            task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    return result


async def _task_row(ctx: AppContext, task_id: str) -> RenewalTask:
    async with ctx.sessions() as s:
        row = await s.scalar(select(RenewalTask).where(RenewalTask.workflow_id == task_id))
    if row is None:
        raise BadInputError(f"TASK: no renewal task {task_id!r}; see `partnerflow renewals list`")
    return row


async def renewal_update(
    ctx: AppContext, task_id: str, update: str, payload: Decision | RenewalFeedback, nonce: str
) -> RenewalView:
    """Runs a renewal update; after the workflow ended, says how it ended instead."""
    client = await ctx.client()
    handle = client.get_workflow_handle_for(RenewalWorkflow.run, task_id)
    try:
        async with temporal_errors(f"renewal {update}"):
            if isinstance(payload, RenewalFeedback):
                return await handle.execute_update(RenewalWorkflow.feedback, payload, id=nonce)
            decide = decision_update(task_id, update)
            view: RenewalView = await handle.execute_update(decide, payload, id=nonce)
            return view
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        row = await _task_row(ctx, task_id)
        raise RefusedError(
            f"renewal task {task_id} is {row.status.lower()}"
            + (f" ({row.reason})" if row.reason else "")
            + "; nothing to do",
            rule=status_rule("renewal", row.status),
        ) from None


async def feedback_precheck(ctx: AppContext, task_id: str, fb: RenewalFeedback) -> None:
    """The workflow's rules, run first so that a refusal is immediate and exact."""
    problem = feedback_input_refusal(fb)
    if problem is not None:
        raise BadInputError(f"--reason: {problem}")
    row = await _task_row(ctx, task_id)
    if fb.outcome != RenewalOutcome.PARTNER_PAYS:
        return
    async with ctx.sessions() as s:
        partner = await s.get(Partner, row.partner_id)
    if partner is None:
        raise BadInputError(f"partner {row.partner_id} of task {task_id} does not exist")
    refusal = partner_payment_refusal(
        PartnerType(partner.type), AssociationMode(row.mode), row.partner_id, row.customer_id
    )
    if refusal is not None:
        raise RefusedError(refusal, rule="partner_payment")


def _task_dict(t: RenewalTask) -> dict[str, Any]:
    return {
        "workflow_id": t.workflow_id,
        "order_id": t.order_id,
        "customer_id": t.customer_id,
        "partner_id": t.partner_id,
        "product": t.product,
        "amount": t.amount,
        "billing": t.billing,
        "mode": t.mode,
        "expires_at": t.expires_at,
        "status": t.status,
        "escalated": t.escalated,
        "claimed_by": t.claimed_by,
        "outcome": t.outcome,
        "reason": t.reason,
        "renewed_until": t.renewed_until,
    }


def list_filter(actor: Actor) -> Any:
    """Which tasks a user sees: staff their partner's unclaimed and own, admin all of its
    partner's, vendor staff everything."""
    if actor.role in PARTNER_ROLES:
        cond = RenewalTask.partner_id == actor.partner_id
        if actor.role == Role.PARTNER_STAFF:
            cond = cond & or_(
                RenewalTask.claimed_by.is_(None), RenewalTask.claimed_by == actor.user_id
            )
        return cond
    if actor.role == Role.CUSTOMER:
        raise RefusedError(
            "renewal tasks are the partner's work list; a customer has none", rule="not_partner"
        )
    return True


async def request_authorization(ctx: AppContext, req: AuthorizationRequest) -> AuthorizationView:
    """Pre-checks, reuses an approved unexpired authorization, or starts (or joins) a request."""
    acts = AuthorizationActivities(ctx.sessions)
    actx = await acts.load_authorization_context(
        AuthorizationContextQuery(partner_id=req.partner_id, customer_id=req.customer_id)
    )
    if actx.partner is None:
        raise BadInputError(f"--partner: no partner with id {req.partner_id!r}")
    if actx.customer is None:
        raise BadInputError(
            f"--customer: no customer with id {req.customer_id!r}", rule="customer_not_found"
        )
    refusal = requester_refusal(req.requested_by, actx.partner)
    refusals = [refusal] if refusal else authorization_refusals(actx, req.accept_commitment_letter)
    if refusals:
        raise RefusedError(
            "; ".join(r.message for r in refusals),
            rule=refusals[0].rule,
            details=refusals,
        )
    client = await ctx.client()
    found = await acts.find_authorization(
        AuthorizationLookup(partner_id=req.partner_id, customer_id=req.customer_id, at=utcnow())
    )
    existing = found.reusable or found.pending
    wf_id = (
        existing.workflow_id
        if existing
        else authorization_workflow_id(req.partner_id, req.customer_id)
    )
    try:
        async with temporal_errors("authorization request"):
            view = await asyncio.wait_for(
                _start_or_read(
                    client, ctx.settings.task_queue, req, wf_id, joined=existing is not None
                ),
                NO_WORKER_AFTER,
            )
    except TimeoutError:
        raise RefusedError(
            f"authorization {wf_id} was started but no worker answered; is the worker running?",
            rule="no_worker",
        ) from None
    if view.status == AuthorizationStatus.REFUSED:
        raise RefusedError(view.reason or "refused", rule="authorization_refused", details=view)
    return view


async def _start_or_read(
    client: Client, task_queue: str, req: AuthorizationRequest, wf_id: str, *, joined: bool
) -> AuthorizationView:
    if joined:
        # A recorded authorization is past its first checks (the row is written after them),
        # and its run may have ended (approved and expired): one status query answers.
        handle = client.get_workflow_handle_for(CustomerAuthorizationWorkflow.run, wf_id)
        view: AuthorizationView = await handle.query(CustomerAuthorizationWorkflow.status)
        return view
    # Start and wait for the first checks in one call (update-with-start), no status polling.
    start = WithStartWorkflowOperation(
        CustomerAuthorizationWorkflow.run,
        req,
        id=wf_id,
        task_queue=task_queue,
        # A request already running (a renewal's) is joined, not duplicated.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=index_attributes(partner_id=req.partner_id, customer_id=req.customer_id),
    )
    try:
        return await client.execute_update_with_start_workflow(
            CustomerAuthorizationWorkflow.checked, start_workflow_operation=start
        )
    finally:
        await settle(start)


async def authorization_update(
    ctx: AppContext, auth_id: str, update: str, actor: Actor, comment: str | None
) -> AuthorizationView:
    """Runs approve / cancel / revoke; after the workflow ended, says how it ended."""
    client = await ctx.client()
    handle = client.get_workflow_handle_for(CustomerAuthorizationWorkflow.run, auth_id)
    try:
        async with temporal_errors(f"authorization {update}"):
            view: AuthorizationView = await handle.execute_update(
                decision_update(auth_id, update),
                Decision(operator=operator(), actor=actor, comment=comment),
                id=f"{update}-{uuid.uuid4()}",
            )
            return view
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        from infra.tables import CustomerAuthorization

        async with ctx.sessions() as s:
            row = await s.scalar(
                select(CustomerAuthorization)
                .where(CustomerAuthorization.workflow_id == auth_id)
                .order_by(CustomerAuthorization.id.desc())
            )
        if row is None:
            raise BadInputError(f"AUTHORIZATION: no authorization {auth_id!r}") from None
        raise RefusedError(
            f"authorization {auth_id} is {row.status.lower()}"
            + (f" ({row.reason})" if row.reason else ""),
            rule=status_rule("authorization", row.status),
        ) from None
