"""``partnerflow invite`` and ``partnerflow invitation accept|decline|cancel|resend``."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import select
from temporalio.common import TypedSearchAttributes

from domain.invitations import (
    Channel,
    InvitationRequest,
    InvitationStatus,
    InvitationView,
    already_bound_here,
    binding_refusals,
    describe_refusals,
    inviter_refusal,
)
from domain.parties import Actor, AssociationMode, Decision
from domain.rules import status_rule
from infra.tables import EmailOutbox, Invitation
from infra.temporal import index_attributes
from starter.cli.output import console, emit, to_jsonable
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.services.context import (
    AppContext,
    operator,
    parse_duration,
    temporal_errors,
    wait_for_query,
)
from starter.services.errors import BadInputError, RefusedError
from workflows.invitation import InvitationWorkflow

invitation_app = typer.Typer(
    help="Decide on, cancel or resend an invitation.", no_args_is_help=True
)

As = Annotated[str, typer.Option("--as", help="The user acting (user id, or a customer id).")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
Validity = Annotated[
    str | None,
    typer.Option(
        help="How long an emailed invitation stays valid (default: "
        f"PARTNERFLOW_INVITATION_VALIDITY, 7d); {DURATION_HELP}."
    ),
]
ReminderBefore = Annotated[
    str | None,
    typer.Option(
        help="Remind the customer this long before the invitation expires (default: "
        f"PARTNERFLOW_INVITATION_REMINDER_BEFORE, 1d); {DURATION_HELP}, or 0s."
    ),
]


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
        raise BadInputError(f"--customer: no customer with id {req.customer_id!r}")
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
    async with temporal_errors("invite"):
        handle = await client.start_workflow(
            InvitationWorkflow.run,
            req,
            id=wf_id,
            task_queue=ctx.settings.task_queue,
            search_attributes=_search_attributes(req),
        )
    raw = await wait_for_query(
        handle, "status", lambda v: v and v.get("status") != InvitationStatus.CHECKING.value
    )
    if raw is None:
        raise RefusedError(
            f"invitation {wf_id} was started but no worker answered; is the worker running?",
            rule="no_worker",
        )
    view = InvitationView.model_validate(raw)
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


def _emit_started(view: InvitationView, email: dict[str, object], as_json: bool) -> None:
    def human() -> None:
        _print_view(view, email)

    emit({**to_jsonable(view), "email": email}, as_json, human)


def _print_view(v: InvitationView, email: dict[str, object] | None = None) -> None:
    console.print(f"[bold]{v.workflow_id}[/]: {v.status.value}")
    console.print(
        f"  partner {v.partner_id} -> customer {v.customer_id}, {v.mode.value} mode, by {v.channel.value}"
    )
    if email is not None:
        to = email["to"] or v.sent_to or "?"
        if email["status"] == "queued":
            console.print(
                f"  email to {to} queued (not yet accepted by the mail server; "
                f"`partnerflow show {v.workflow_id}` shows when it is sent)",
                markup=False,
            )
        elif email["status"] == "sent":
            console.print(f"  sent to {to}", markup=False)
        else:
            console.print(f"  email to {to!r} {email['status']}: {email['error']}", markup=False)
    elif v.sent_to:
        console.print(f"  invitation to {v.sent_to}")
    if v.expires_at:
        console.print(f"  expires {v.expires_at:%Y-%m-%d %H:%M} UTC")
    if v.reason:
        console.print(f"  reason: {v.reason}")
    if v.binding_id:
        console.print(f"  binding {v.binding_id}")


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


def register(app: typer.Typer) -> None:
    """Adds the invitation commands to the CLI."""

    @app.command()
    def invite(
        partner: Annotated[str, typer.Option(help="Partner id.")],
        customer: Annotated[str, typer.Option(help="Customer id.")],
        as_user: As,
        mode: Annotated[
            AssociationMode, typer.Option(help="Association type (resale needs no permission).")
        ] = AssociationMode.RESALE,
        channel: Annotated[
            Channel, typer.Option(help="email: link valid --validity; offline: link never expires.")
        ] = Channel.EMAIL,
        validity: Validity = None,
        reminder_before: ReminderBefore = None,
        as_json: Json = False,
    ) -> None:
        """Invite a customer to bind to a partner (eligibility checked first)."""

        async def body(ctx: AppContext) -> None:
            d = durations(ctx, validity, reminder_before)
            req = InvitationRequest(
                partner_id=partner,
                customer_id=customer,
                mode=mode,
                channel=channel,
                requested_by=await ctx.actor(as_user),
                validity=d.validity,
                reminder_before=d.reminder_before,
            )
            view = await start_invitation(ctx, req)
            _emit_started(view, await invitation_email(ctx, view.workflow_id), as_json)

        run_async(as_json, body)

    def _decision(action: str, doc: str) -> None:
        @invitation_app.command(name=action, help=doc)
        def command(
            invitation: Annotated[str, typer.Argument(help="Invitation id (invitation-P-C).")],
            as_user: As,
            comment: Annotated[str | None, typer.Option(help="Optional comment.")] = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                view = await decide(ctx, invitation, action, await ctx.actor(as_user), comment)
                emit(view, as_json, lambda: _print_view(view))
                if view.status == InvitationStatus.REFUSED:
                    raise RefusedError(view.reason or "refused", rule="eligibility")

            run_async(as_json, body)

    _decision("accept", "Accept an invitation (as the customer): the binding is created.")
    _decision("decline", "Decline an invitation (as the customer).")
    _decision("cancel", "Cancel a pending invitation (as the partner's user or ops).")

    @invitation_app.command()
    def resend(
        invitation: Annotated[str, typer.Argument(help="Invitation id (invitation-P-C).")],
        as_user: As,
        validity: Validity = None,
        reminder_before: ReminderBefore = None,
        as_json: Json = False,
    ) -> None:
        """Send an expired, declined or cancelled invitation again (a new validity period)."""

        async def body(ctx: AppContext) -> None:
            d = durations(ctx, validity, reminder_before)  # bad input before anything else
            async with ctx.sessions() as s:
                row = await s.scalar(
                    select(Invitation)
                    .where(Invitation.workflow_id == invitation)
                    .order_by(Invitation.id.desc())
                )
            if row is None:
                raise BadInputError(f"no invitation with id {invitation!r}")
            if row.status == "PENDING":
                raise RefusedError(
                    f"invitation {invitation} is still pending; it cannot be sent twice",
                    rule="still_pending",
                )
            req = InvitationRequest(
                partner_id=row.partner_id,
                customer_id=row.customer_id,
                mode=AssociationMode(row.mode),
                channel=Channel(row.channel),
                requested_by=await ctx.actor(as_user),
                validity=d.validity,
                reminder_before=d.reminder_before,
            )
            view = await start_invitation(ctx, req)
            _emit_started(view, await invitation_email(ctx, view.workflow_id), as_json)

        run_async(as_json, body)

    app.add_typer(invitation_app, name="invitation")
