"""``partnerflow invite`` and ``partnerflow invitation accept|decline|cancel|resend``."""

from typing import Annotated

import typer

from domain.invitations import (
    Channel,
    InvitationStatus,
    InvitationView,
)
from domain.parties import AssociationMode
from starter.cli.output import console, emit
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.services.commands import cli_input
from starter.services.commands_cases import InvitationResendInput, invitation_resend
from starter.services.commands_start import InviteInput
from starter.services.commands_start import invite as invite_command
from starter.services.context import (
    AppContext,
)
from starter.services.errors import RefusedError
from starter.services.invitations import decide, invitation_email
from starter.services.jsonable import to_jsonable

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
            # The console's invite form validates with the same model.
            i = cli_input(
                InviteInput,
                partner=partner,
                customer=customer,
                mode=mode,
                channel=channel,
                validity=validity,
                reminder_before=reminder_before,
            )
            view = (await invite_command(ctx, await ctx.actor(as_user), i)).result
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
            # Bad input before anything else; the console's resend form uses the same model.
            i = cli_input(
                InvitationResendInput,
                workflow_id=invitation,
                validity=validity,
                reminder_before=reminder_before,
            )
            view = (await invitation_resend(ctx, await ctx.actor(as_user), i)).result
            _emit_started(view, await invitation_email(ctx, view.workflow_id), as_json)

        run_async(as_json, body)

    app.add_typer(invitation_app, name="invitation")
