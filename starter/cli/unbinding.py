"""``partnerflow unbind``, ``partnerflow switch-mode`` and
``partnerflow request approve|reject|cancel``."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.parties import AssociationMode
from domain.unbinding import (
    ChangeKind,
    ChangeRequestView,
    RequestStatus,
)
from starter.cli.output import console, emit
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.services.commands import cli_input
from starter.services.commands_start import SwitchModeInput, UnbindInput
from starter.services.commands_start import switch_mode as switch_mode_command
from starter.services.commands_start import unbind as unbind_command
from starter.services.context import (
    AppContext,
)
from starter.services.errors import RefusedError
from starter.services.unbinding import decide

request_app = typer.Typer(
    help="Approve, reject or withdraw a request to unbind a customer or switch its mode.",
    no_args_is_help=True,
)

As = Annotated[str, typer.Option("--as", help="The user acting (user id, or a customer id).")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
BindingOpt = Annotated[
    int, typer.Option("--binding", help="Binding id (shown by `partnerflow show invitation-P-C`).")
]
Reason = Annotated[str | None, typer.Option(help="Why: shown to the other side.")]
Window = Annotated[
    str | None,
    typer.Option(
        help="How long the other side has to answer (default: PARTNERFLOW_UNBIND_APPROVAL_WINDOW"
        f", 7d); {DURATION_HELP}."
    ),
]
ReminderBefore = Annotated[
    str | None,
    typer.Option(
        help="Remind the other side this long before the window lapses (default: "
        f"PARTNERFLOW_UNBIND_REMINDER_BEFORE, 1d); {DURATION_HELP}, or 0s."
    ),
]


def _print_view(v: ChangeRequestView) -> None:
    what = "unbinding" if v.kind == ChangeKind.UNBIND else f"switch to {v.to_mode} mode"
    console.print(f"[bold]{v.workflow_id}[/] (request {v.request_id}): {v.status.value}")
    console.print(
        f"  {what} of binding {v.binding_id} (partner {v.partner_id}, customer {v.customer_id}, "
        f"{v.mode.value if v.mode else '?'} mode), raised by {v.requested_by} "
        f"for the {v.initiator.value if v.initiator else '?'}"
    )
    if v.request_reason:
        console.print(f"  reason given: {v.request_reason}")
    if v.status == RequestStatus.PENDING and v.expires_at:
        console.print(f"  waiting for the other side until {v.expires_at:%Y-%m-%d %H:%M} UTC")
    if v.reason:
        console.print(f"  {v.reason}")
    if v.recovered_amount is not None:
        console.print(f"  balance recovered for the partner: {v.recovered_amount} CNY")
    for d in v.dispositions:
        console.print(
            f"  {d.voucher_id} ({d.kind.value} of the {d.issuer.value}, {d.amount} CNY): "
            f"{d.action.value.replace('_', ' ')}"
        )


def register(app: typer.Typer) -> None:
    """Adds the unbinding commands to the CLI."""

    @app.command()
    def unbind(
        binding: BindingOpt,
        as_user: As,
        reason: Reason = None,
        window: Window = None,
        reminder_before: ReminderBefore = None,
        as_json: Json = False,
    ) -> None:
        """Ask to end a binding: as the partner's admin (the customer approves) or as the
        customer itself (the partner's admin approves; no answer in the window approves it).

        Refused, with nothing recorded, for partner staff, for a customer in arrears, frozen,
        with reserved instances or a support plan, an enterprise master with independent
        members, a special contract, orders awaiting partner payment or unused pickup vouchers,
        and over the frequency limit (with the date a new request is possible).
        """

        async def body(ctx: AppContext) -> None:
            # The console's unbind form validates with the same model.
            i = cli_input(
                UnbindInput,
                binding=binding,
                reason=reason,
                window=window,
                reminder_before=reminder_before,
            )
            view = (await unbind_command(ctx, await ctx.actor(as_user), i)).result
            emit(view, as_json, lambda: _print_view(view))

        run_async(as_json, body)

    @app.command("switch-mode")
    def switch_mode(
        binding: BindingOpt,
        to: Annotated[AssociationMode, typer.Option("--to", help="The new association type.")],
        as_user: As,
        reason: Reason = None,
        window: Window = None,
        reminder_before: ReminderBefore = None,
        as_json: Json = False,
    ) -> None:
        """Ask to switch a binding between consulting and resale (partner admin only; the
        customer approves). Switching to resale is refused for a customer with a credit
        account; leaving resale recovers the partner's unused allocation."""

        async def body(ctx: AppContext) -> None:
            i = cli_input(
                SwitchModeInput,
                binding=binding,
                to=to,
                reason=reason,
                window=window,
                reminder_before=reminder_before,
            )
            view = (await switch_mode_command(ctx, await ctx.actor(as_user), i)).result
            emit(view, as_json, lambda: _print_view(view))

        run_async(as_json, body)

    def _decision(action: str, doc: str) -> None:
        @request_app.command(name=action, help=doc)
        def command(
            request: Annotated[
                str,
                typer.Argument(
                    help="The request: its workflow id (binding-change-N) or request number."
                ),
            ],
            as_user: As,
            comment: Annotated[str | None, typer.Option(help="Optional comment.")] = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                view = await decide(ctx, request, action, await ctx.actor(as_user), comment)
                emit(view, as_json, lambda: _print_view(view))
                if view.status == RequestStatus.REFUSED:
                    raise RefusedError(view.reason or "refused", rule="approval_rechecked")

            run_async(as_json, body)

    _decision(
        "approve",
        "Approve a request (the customer for a partner's request; a partner admin for a "
        "customer's): the binding is ended or switched at once.",
    )
    _decision("reject", "Reject a request: the binding stays as it is.")
    _decision("cancel", "Withdraw a pending request (the side that raised it, or ops).")

    app.add_typer(request_app, name="request")
