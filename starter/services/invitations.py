"""Invitation services: pre-checks, starting the workflow, deciding, the invitation email."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy

from domain.invitations import (
    InvitationRequest,
    InvitationStatus,
    InvitationView,
    already_bound_here,
    binding_refusals,
    describe_refusals,
    inviter_refusal,
)
from domain.parties import Actor, Decision
from domain.rules import status_rule
from infra.tables import EmailOutbox, Invitation
from infra.temporal import index_attributes
from starter.services.context import (
    AppContext,
    operator,
    parse_duration,
    start_checked,
    temporal_errors,
)
from starter.services.errors import BadInputError, RefusedError
from workflows.invitation import InvitationWorkflow


@dataclass(frozen=True)
class Durations:
    """The durations of one invitation."""

    validity: timedelta
    reminder_before: timedelta


def invitation_id(partner_id: str, customer_id: str) -> str:
    """The business key: one open invitation per partner and customer."""
    return f"invitation-{partner_id}-{customer_id}"


async def precheck(ctx: AppContext, req: InvitationRequest) -> None:
    """The same rules the workflow applies, run first so a refusal writes nothing."""
    from activities.parties import active_binding, customer_snapshot, partner_snapshot

    async with ctx.sessions() as s:
        partner = await partner_snapshot(s, req.partner_id)
        customer = await customer_snapshot(s, req.customer_id)
        bound = await active_binding(s, req.customer_id)
    if partner is None:
        raise BadInputError(f"--partner: no partner with id {req.partner_id!r}")
    if customer is None:
        raise BadInputError(
            f"--customer: no customer with id {req.customer_id!r}", rule="customer_not_found"
        )
    refusal = inviter_refusal(req.requested_by, partner)
    if refusal is not None:
        raise RefusedError(refusal.message, rule=refusal.rule)
    if already_bound_here(req.partner_id, bound):
        raise RefusedError(
            f"customer {req.customer_id} is already bound to {req.partner_id}: nothing to do",
            rule="already_bound",
        )
    refusals = binding_refusals(partner, customer, req.mode, bound)
    if refusals:
        raise RefusedError(
            describe_refusals(refusals),
            rule=refusals[0].rule,
            details=refusals,
        )


async def start_invitation(ctx: AppContext, req: InvitationRequest) -> InvitationView:
    """Pre-checks, starts the workflow and waits until it has sent the invitation."""
    await precheck(ctx, req)
    client = await ctx.client()
    wf_id = invitation_id(req.partner_id, req.customer_id)
    # Start and wait for the first checks in one call (update-with-start): the update answers
    # as soon as the workflow has invited or refused, with no polling of the status query.
    start = WithStartWorkflowOperation(
        InvitationWorkflow.run,
        req,
        id=wf_id,
        task_queue=ctx.settings.task_queue,
        search_attributes=_search_attributes(req),
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    view = await start_checked(
        client, InvitationWorkflow.checked, start, what="invite", started=f"invitation {wf_id}"
    )
    if view.status == InvitationStatus.REFUSED:
        raise RefusedError(view.reason or "refused", rule="eligibility", details=view)
    return view


def _search_attributes(req: InvitationRequest) -> TypedSearchAttributes:
    # infra.temporal.index_attributes is the one way starters index a workflow by party.
    return index_attributes(partner_id=req.partner_id, customer_id=req.customer_id)


async def invitation_email(ctx: AppContext, wf_id: str) -> dict[str, object]:
    """The invitation email of the newest run as the outbox has it.

    ``queued`` until the mail server answered 250 (the workflow sends it a moment after it
    starts), then ``sent``; ``bounced`` / ``invalid`` with the error if it never will be.
    """
    async with ctx.sessions() as s:
        row = await s.scalar(
            select(EmailOutbox)
            .where(
                EmailOutbox.workflow_id == wf_id,
                EmailOutbox.template.in_(("invitation", "invitation_offline_link")),
            )
            .order_by(EmailOutbox.id.desc())
        )
    if row is None or row.status == "pending":
        return {"status": "queued", "to": row.to_addr if row else None, "error": None}
    return {"status": row.status, "to": row.to_addr, "error": row.last_error}


async def decide(
    ctx: AppContext,
    wf_id: str,
    action: str,
    actor: Actor,
    comment: str | None,
    nonce: str | None = None,
) -> InvitationView:
    """Runs a decision update; after the workflow ended, reports what happened instead."""
    client = await ctx.client()
    handle = client.get_workflow_handle_for(InvitationWorkflow.run, wf_id)
    update = {
        "accept": InvitationWorkflow.accept,
        "decline": InvitationWorkflow.decline,
        "cancel": InvitationWorkflow.cancel,
    }[action]
    try:
        async with temporal_errors(f"invitation {action}"):
            return await handle.execute_update(
                update,
                Decision(operator=operator(), actor=actor, comment=comment, nonce=nonce),
                id=nonce or f"{action}-{uuid.uuid4()}",
            )
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        async with ctx.sessions() as s:
            row = await s.scalar(
                select(Invitation)
                .where(Invitation.workflow_id == wf_id)
                .order_by(Invitation.id.desc())
            )
        if row is None:
            raise BadInputError(f"no invitation with id {wf_id!r}") from None
        raise RefusedError(
            f"invitation {wf_id} is {row.status.lower()}{_when_and_who(row)}"
            + ("; ask the partner to send a new one" if row.status == "EXPIRED" else ""),
            rule=status_rule("invitation", row.status),
        ) from None


def _when_and_who(row: Invitation) -> str:
    """ " by X on T": when the invitation was decided, or when it lapsed."""
    if row.status == "EXPIRED":
        return f" on {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
    by = f" by {row.decided_by}" if row.decided_by else ""
    return by + (f" on {row.decided_at:%Y-%m-%d %H:%M} UTC" if row.decided_at else "")


def durations(ctx: AppContext, validity: str | None, reminder_before: str | None) -> Durations:
    """The ``--validity`` and ``--reminder-before`` given, else the configured ones."""
    s = ctx.settings
    return Durations(
        validity=parse_duration(validity, "--validity") if validity else s.invitation_validity,
        reminder_before=parse_duration(reminder_before, "--reminder-before", allow_zero=True)
        if reminder_before
        else s.invitation_reminder_before,
    )
