"""Incentive payouts: ``payout start|apply|invoice|approve|reject|show|certification-recorded``
and the imports the payout reads (``import consumption|bill-status|incentive-rates FILE``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from domain.incentives import (
    InvoiceVerification,
    PayoutMethod,
    PayoutView,
    period_bounds,
)
from domain.parties import Decision
from starter.cli.output import console, emit
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.services import commands_partner as facts
from starter.services.commands import cli_input
from starter.services.commands_partner import CertificationRecordedInput
from starter.services.commands_steps import PayoutApplyInput, payout_apply
from starter.services.commands_vendor import PayoutStartInput, payout_start
from starter.services.context import (
    AppContext,
    decided_by_someone_else,
    operator,
)
from starter.services.errors import BadInputError
from starter.services.incentives import (
    _release_frozen,
    payout_show,
    payout_update,
    read_invoice,
    submit_invoice,
)
from workflows.incentive import IncentivePayoutWorkflow

payout_app = typer.Typer(
    help="Incentive payouts: statement, application, invoices, finance approval, payment.",
    no_args_is_help=True,
)

As = Annotated[str, typer.Option("--as", help="The user acting (a user id).")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
PayoutId = Annotated[str, typer.Argument(help="Payout id: incentive-<partner>-<YYYY-MM>.")]


# ----- starting and deciding ------------------------------------------------------------------


def _print_view(v: PayoutView) -> None:
    console.print(f"[bold]{v.workflow_id}[/]: {v.status.value}")
    if v.amount is not None:
        console.print(f"  amount {v.amount} CNY" + (f" by {v.method.value}" if v.method else ""))
    st = v.statement
    if st is not None:
        for site in st.sites:
            console.print(
                f"  {site.site.value}: performance {site.performance} x {site.rate} = "
                f"{site.incentive}",
                markup=False,
            )
        for e in st.excluded:
            console.print(f"  not counted: {e.description}: {e.amount}", markup=False)
        if st.deducted:
            console.print(f"  negative incentives deducted first: {st.deducted}", markup=False)
        if st.carried_out:
            console.print(f"  carried to next month: {st.carried_out}", markup=False)
    if v.reason:
        console.print(f"  reason: {v.reason}", markup=False)
    if v.release_at:
        console.print(f"  released at {v.release_at:%Y-%m-%d %H:%M} UTC")
    il = v.invoice_list
    if il is not None:
        console.print(
            f"  invoice list: VAT special invoice, buyer {il.buyer_title} ({il.buyer_tax_id}), "
            f"seller {il.seller_name} ({il.seller_tax_id}), {il.amount} CNY tax included",
            markup=False,
        )
        due = f", due {v.invoice_due_at:%Y-%m-%d}" if v.invoice_due_at else ""
        console.print(f"  invoiced {v.invoiced}, remaining {v.remaining}{due}")
    for inv in v.invoices:
        console.print(f"  invoice {inv.invoice_number}: {inv.total} ({inv.issued_on})")
    if v.decided_by:
        console.print(f"  decided by {v.decided_by}")
    if v.payment_reference:
        console.print(f"  payment {v.payment_reference}", markup=False)


def _print_verification(r: InvoiceVerification) -> None:
    if r.accepted:
        console.print(
            f"invoice {r.invoice_number} accepted; invoiced {r.invoiced}, remaining {r.remaining}"
            + (" (complete: finance approves next)" if r.remaining == 0 else "")
        )
    else:
        console.print(f"invoice {r.invoice_number} refused:")
        for p in r.problems:
            console.print(f"  - [{p.rule}] {p.message}", markup=False)


def register(app: typer.Typer) -> None:
    """Adds the payout commands and the incentive imports to the CLI."""
    from starter.services.core import AFTER_IMPORT

    AFTER_IMPORT.setdefault("bill-status", _release_frozen)

    @payout_app.command("start")
    def start(
        partner: Annotated[str, typer.Option(help="Partner id.")],
        period: Annotated[str, typer.Option(help="The month, YYYY-MM (a month that has ended).")],
        as_user: As,
        invoice_window: Annotated[
            str | None,
            typer.Option(
                help="How long the partner has to invoice (default: "
                f"PARTNERFLOW_INCENTIVE_INVOICE_WINDOW, 60d); {DURATION_HELP}."
            ),
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Start one partner's payout for a month (ops; the monthly schedule does it for all).

        The statement is calculated at once; an unpaid bill freezes it, a zero incentive
        closes it with a notice, otherwise the partner is emailed its statement.
        """

        async def body(ctx: AppContext) -> None:
            actor = await ctx.actor(as_user)
            try:
                period_bounds(period)
            except ValueError:
                raise BadInputError(
                    f"--period: {period!r} is not a month written YYYY-MM, e.g. 2026-10"
                ) from None
            # The console's payout form validates with the same model.
            i = cli_input(
                PayoutStartInput, partner=partner, period=period, invoice_window=invoice_window
            )
            view = (await payout_start(ctx, actor, i)).result
            emit(view, as_json, lambda: _print_view(view))

        run_async(as_json, body)

    @payout_app.command("apply")
    def apply_(
        payout: PayoutId,
        method: Annotated[
            PayoutMethod,
            typer.Option(help="voucher (no invoice), bank_transfer or recharge_account."),
        ],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Apply for the payout (the partner's admin), choosing how to be paid."""

        async def body(ctx: AppContext) -> None:
            i = cli_input(PayoutApplyInput, workflow_id=payout, method=method)
            view = (await payout_apply(ctx, await ctx.actor(as_user), i)).result
            emit(view, as_json, lambda: _print_view(view))

        run_async(as_json, body)

    @payout_app.command("invoice")
    def invoice(
        payout: PayoutId,
        file: Annotated[
            Path,
            typer.Option(
                "--file",
                help="JSON with invoice_number, invoice_type (vat_special), buyer_title, "
                "buyer_tax_id, seller_name, seller_tax_id, amount_excl_tax, tax_amount, total, "
                "issued_on (YYYY-MM-DD).",
            ),
        ],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Submit an invoice issued to the vendor; every verification rule is checked and
        each problem reported (exit 1), so it can be corrected and submitted again."""

        async def body(ctx: AppContext) -> None:
            details = read_invoice(file)
            result = await submit_invoice(ctx, await ctx.actor(as_user), payout, details)
            emit(result, as_json, lambda: _print_verification(result))

        run_async(as_json, body)

    def _decision(action: str, doc: str) -> None:
        @payout_app.command(name=action, help=doc)
        def command(
            payout: PayoutId,
            as_user: As,
            reason: Annotated[
                str | None,
                typer.Option(help="Why (required to reject; it is sent to the partner)."),
            ] = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                if action == "reject" and not (reason or "").strip():
                    raise BadInputError("--reason: a rejection needs a reason for the partner")
                actor = await ctx.actor(as_user)
                update = (
                    IncentivePayoutWorkflow.approve
                    if action == "approve"
                    else IncentivePayoutWorkflow.reject
                )
                view: PayoutView = await payout_update(
                    ctx,
                    payout,
                    action,
                    action,
                    update,
                    lambda nonce: Decision(
                        operator=operator(), actor=actor, comment=reason, nonce=nonce
                    ),
                )
                emit(view, as_json, lambda: _print_view(view))
                other = decided_by_someone_else(
                    f"payout {payout}", view.status.value, view.decided_by, view.decided_at, actor
                )
                if other is not None:
                    raise other

            run_async(as_json, body)

    _decision("approve", "Approve a payout whose invoices are complete (finance); it is paid.")
    _decision("reject", "Reject a payout (finance), with --reason for the partner.")

    @payout_app.command("show")
    def show(payout: PayoutId, as_json: Json = False) -> None:
        """A payout: statement, status, invoice list, invoices, decision and payment."""

        async def body(ctx: AppContext) -> None:
            view = await payout_show(ctx, payout)
            emit(view, as_json, lambda: _print_view(view))

        run_async(as_json, body)

    @payout_app.command("certification-recorded")
    def certification_recorded(
        partner: Annotated[str, typer.Option(help="Partner id.")],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Tell the partner's HELD payouts that its business-info certification is recorded
        (they re-check it and go on to the invoice notification)."""

        async def body(ctx: AppContext) -> None:
            i = cli_input(CertificationRecordedInput, partner=partner)
            out = (await facts.certification_recorded(ctx, await ctx.actor(as_user), i)).result
            held = out["signalled"]
            emit(
                out,
                as_json,
                f"{len(held)} held payout(s) of {partner} signalled: {', '.join(held) or '-'}",
            )

        run_async(as_json, body)

    app.add_typer(payout_app, name="payout")


# ----- imports ---------------------------------------------------------------------------------
