"""Incentive payouts: ``payout start|apply|invoice|approve|reject|show|certification-recorded``
and the imports the payout reads (``import consumption|bill-status|incentive-rates FILE``)."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from activities.incentives import statement_of
from activities.parties import partner_snapshot
from domain.incentives import (
    AcceptedInvoice,
    BillPaid,
    CertificationRecorded,
    IncentiveRequest,
    InvoiceSubmission,
    InvoiceVerification,
    PayoutApplication,
    PayoutDefaults,
    PayoutMethod,
    PayoutStatus,
    PayoutView,
    Period,
    payout_workflow_id,
    period_bounds,
    start_refusal,
)
from domain.invoices import InvoiceDetails
from domain.parties import Actor, Decision, PartnerType, Role
from domain.performance import PaymentKind, ProductLine, Site
from domain.reference import Ident
from domain.rules import status_rule
from infra.config import Settings
from infra.db import utcnow
from infra.tables import (
    ConsumptionLineRow,
    Customer,
    IncentiveInvoice,
    IncentivePayout,
    IncentiveRate,
    Partner,
    PartnerBillStatus,
)
from infra.temporal import index_attributes
from starter.cli.output import console, emit
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.imports.base import (
    Importer,
    ImportResult,
    RowError,
    duplicates,
    read_text,
    register_importer,
    upsert_row,
)
from starter.services.context import (
    AppContext,
    decided_by_someone_else,
    operator,
    parse_duration,
    temporal_errors,
    wait_for_query,
)
from starter.services.errors import BadInputError, RefusedError
from workflows.incentive import IncentivePayoutWorkflow

payout_app = typer.Typer(
    help="Incentive payouts: statement, application, invoices, finance approval, payment.",
    no_args_is_help=True,
)

As = Annotated[str, typer.Option("--as", help="The user acting (a user id).")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
PayoutId = Annotated[str, typer.Argument(help="Payout id: incentive-<partner>-<YYYY-MM>.")]


def payout_defaults(settings: Settings) -> PayoutDefaults:
    """The payout durations and the vendor's invoice information, from settings."""
    return PayoutDefaults(
        vendor_invoice_title=settings.vendor_invoice_title,
        vendor_tax_id=settings.vendor_tax_id,
        application_window=settings.incentive_application_window,
        application_reminder_after=settings.incentive_application_reminder,
        invoice_window=settings.incentive_invoice_window,
        invoice_reminders_before=list(settings.incentive_invoice_reminders_before),
        approval_reminder_after=settings.incentive_approval_reminder,
        recheck_every=settings.incentive_recheck,
        business_utc_offset=timedelta(hours=settings.working_calendar_utc_offset_hours),
    )


# ----- starting and deciding ------------------------------------------------------------------


async def precheck_start(ctx: AppContext, actor: Actor, partner_id: str, period: str) -> None:
    """The starter's checks, so that a refusal starts nothing and writes nothing."""
    if actor.role != Role.OPS:
        raise RefusedError(
            f"{actor.describe()} may not start payouts: ops starts them (the monthly schedule "
            "starts them for every ACTIVE partner)",
            rule="not_ops",
        )
    async with ctx.sessions() as s:
        partner = await partner_snapshot(s, partner_id)
        existing = await s.scalar(
            select(IncentivePayout).where(
                IncentivePayout.partner_id == partner_id, IncentivePayout.period == period
            )
        )
    if partner is None:
        raise BadInputError(f"--partner: no partner with id {partner_id!r}")
    refusal = start_refusal(partner, partner_id, period, utcnow().date())
    if refusal is not None:
        raise RefusedError(refusal, rule="payout_not_startable")
    if existing is not None:
        raise RefusedError(
            f"the {period} payout of {partner_id} already exists ({existing.status}, "
            f"{existing.payout_id}): one payout per partner and month",
            rule="payout_exists",
        )


async def start_payout(ctx: AppContext, req: IncentiveRequest) -> PayoutView:
    """Starts the payout workflow and waits until its statement is calculated."""
    client = await ctx.client()
    wf_id = payout_workflow_id(req.partner_id, req.period)
    async with temporal_errors("payout start"):
        handle = await client.start_workflow(
            IncentivePayoutWorkflow.run,
            req,
            id=wf_id,
            task_queue=ctx.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=index_attributes(partner_id=req.partner_id),
        )
    raw = await wait_for_query(
        handle, "status", lambda v: v and v.get("status") != PayoutStatus.CALCULATING.value
    )
    if raw is None:
        raise RefusedError(
            f"payout {wf_id} was started but no worker answered; is the worker running?",
            rule="no_worker",
        )
    return PayoutView.model_validate(raw)


def _handle(ctx_client: Any, payout_id: str) -> WorkflowHandle[IncentivePayoutWorkflow, PayoutView]:
    handle: WorkflowHandle[IncentivePayoutWorkflow, PayoutView] = (
        ctx_client.get_workflow_handle_for(IncentivePayoutWorkflow.run, payout_id)
    )
    return handle


async def finished_refusal(ctx: AppContext, payout_id: str, what: str, exc: RefusedError) -> None:
    """After the workflow ended, says what happened to the payout instead."""
    if exc.rule not in ("workflow_finished", "workflow_not_running"):
        raise exc
    async with ctx.sessions() as s:
        row = await s.scalar(select(IncentivePayout).where(IncentivePayout.payout_id == payout_id))
    if row is None:
        raise BadInputError(f"PAYOUT: no payout with id {payout_id!r}") from None
    reason = f": {row.reason}" if row.reason else ""
    raise RefusedError(
        f"cannot {what}: payout {payout_id} is {row.status}{reason}",
        rule=status_rule("payout", row.status),
    ) from None


def read_invoice(path: Path) -> InvoiceDetails:
    """The invoice details in a JSON file, with bad fields named."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"--file: {path.name} is not valid JSON ({exc})") from None
    try:
        return InvoiceDetails.model_validate(data)
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'invoice'}: {e['msg']}" for e in exc.errors()
        ]
        raise BadInputError(f"--file {path.name}: " + "; ".join(parts)) from None


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


async def view_from_db(ctx: AppContext, payout_id: str) -> PayoutView:
    """A finished payout as the database recorded it."""
    async with ctx.sessions() as s:
        row = await s.scalar(select(IncentivePayout).where(IncentivePayout.payout_id == payout_id))
        invoices = (
            await s.scalars(select(IncentiveInvoice).where(IncentiveInvoice.payout_id == payout_id))
        ).all()
    if row is None:
        raise BadInputError(f"PAYOUT: no payout with id {payout_id!r}")
    return PayoutView(
        workflow_id=row.payout_id,
        partner_id=row.partner_id,
        period=row.period,
        status=PayoutStatus(row.status),
        reason=row.reason,
        amount=row.amount,
        statement=statement_of(row),
        method=PayoutMethod(row.method) if row.method else None,
        applied_by=row.applied_by,
        notified_at=row.notified_at,
        invoices=[
            AcceptedInvoice(
                invoice_number=i.invoice_number,
                total=i.total,
                issued_on=i.issued_on,
                submitted_by=i.submitted_by,
            )
            for i in invoices
        ],
        invoiced=sum((i.total for i in invoices), Decimal("0.00")),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        payment_reference=row.payment_reference,
        paid_at=row.paid_at,
    )


def register(app: typer.Typer) -> None:
    """Adds the payout commands and the incentive imports to the CLI."""
    from starter.cli.core import AFTER_IMPORT

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
            month = period
            await precheck_start(ctx, actor, partner, month)
            defaults = payout_defaults(ctx.settings)
            if invoice_window:
                defaults.invoice_window = parse_duration(invoice_window, "--invoice-window")
            view = await start_payout(ctx, defaults.request(partner, month, actor.user_id))
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
            actor = await ctx.actor(as_user)
            client = await ctx.client()
            nonce = f"apply-{uuid.uuid4()}"
            try:
                async with temporal_errors("payout apply"):
                    view = await _handle(client, payout).execute_update(
                        IncentivePayoutWorkflow.apply,
                        PayoutApplication(actor=actor, method=method, nonce=nonce),
                        id=nonce,
                    )
            except RefusedError as exc:
                await finished_refusal(ctx, payout, "apply", exc)
                raise
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
            actor = await ctx.actor(as_user)
            client = await ctx.client()
            nonce = f"invoice-{uuid.uuid4()}"
            try:
                async with temporal_errors("payout invoice"):
                    result = await _handle(client, payout).execute_update(
                        IncentivePayoutWorkflow.submit_invoice,
                        InvoiceSubmission(actor=actor, invoice=details, nonce=nonce),
                        id=nonce,
                    )
            except RefusedError as exc:
                await finished_refusal(ctx, payout, "submit an invoice", exc)
                raise
            if not result.accepted:
                raise RefusedError(
                    "; ".join(p.message for p in result.problems),
                    rule=result.problems[0].rule,
                    details=result,
                )
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
                client = await ctx.client()
                nonce = f"{action}-{uuid.uuid4()}"
                update = (
                    IncentivePayoutWorkflow.approve
                    if action == "approve"
                    else IncentivePayoutWorkflow.reject
                )
                try:
                    async with temporal_errors(f"payout {action}"):
                        view = await _handle(client, payout).execute_update(
                            update,
                            Decision(operator=operator(), actor=actor, comment=reason, nonce=nonce),
                            id=nonce,
                        )
                except RefusedError as exc:
                    await finished_refusal(ctx, payout, action, exc)
                    raise
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
            client = await ctx.client()
            try:
                view = await _handle(client, payout).query(IncentivePayoutWorkflow.status)
            except Exception:
                view = await view_from_db(ctx, payout)  # finished, or no worker to answer
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
            actor = await ctx.actor(as_user)
            if actor.role != Role.OPS:
                raise RefusedError(f"{actor.describe()} is not ops", rule="not_ops")
            async with ctx.sessions() as s:
                row = await s.get(Partner, partner)
                held = (
                    await s.scalars(
                        select(IncentivePayout.payout_id).where(
                            IncentivePayout.partner_id == partner,
                            IncentivePayout.status == PayoutStatus.HELD.value,
                        )
                    )
                ).all()
            if row is None:
                raise BadInputError(f"--partner: no partner with id {partner!r}")
            if not row.business_certified:
                raise RefusedError(
                    f"partner {partner} is not business-certified in PartnerFlow's data; record "
                    "the certification first (onboarding, or `import partners` with "
                    "business_certified=true)",
                    rule="not_certified",
                )
            client = await ctx.client()
            for payout_id in held:
                async with temporal_errors("certification-recorded"):
                    await client.get_workflow_handle(payout_id).signal(
                        IncentivePayoutWorkflow.certification_recorded,
                        CertificationRecorded(partner_id=partner, recorded_by=actor.user_id),
                    )
            emit(
                {"partner_id": partner, "signalled": list(held)},
                as_json,
                f"{len(held)} held payout(s) of {partner} signalled: {', '.join(held) or '-'}",
            )

        run_async(as_json, body)

    app.add_typer(payout_app, name="payout")


# ----- imports ---------------------------------------------------------------------------------


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsumptionRow(_Row):
    """One consumption line of the billing export."""

    line_id: Ident
    customer_id: Ident
    consumed_on: date
    amount: Decimal = Field(max_digits=16, decimal_places=2)  # negative: a refund
    payment_kind: PaymentKind
    site: Site
    product_line: ProductLine


class BillStatusRow(_Row):
    """Whether every bill of a partner's monthly cycle is paid."""

    partner_id: Ident
    period: Period
    all_paid: bool
    paid_on: date | None = None

    @model_validator(mode="after")
    def _paid_on_only_when_paid(self) -> BillStatusRow:
        if not self.all_paid and self.paid_on is not None:
            raise ValueError("paid_on is given only when all_paid is true")
        return self


class RateRow(_Row):
    """The incentive rate of a partner type on a site."""

    partner_type: PartnerType
    site: Site
    rate: Decimal = Field(ge=0, le=1, decimal_places=4)


async def _upsert(
    s: AsyncSession, table: type[Any], key: Any, values: dict[str, Any], result: ImportResult
) -> None:
    result.count(await upsert_row(s, table, key, values))


async def _check_consumption(s: AsyncSession, rows: list[ConsumptionRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: r.line_id, "line_id")
    ids = {r.customer_id for r in rows}
    known = set((await s.scalars(select(Customer.id).where(Customer.id.in_(ids)))).all())
    for n, r in enumerate(rows, start=1):
        if r.customer_id not in known:
            errors.append(
                RowError(n, "customer_id", f"no customer {r.customer_id}; import customers first")
            )
    return errors


async def _write_consumption(
    s: AsyncSession, rows: list[ConsumptionRow], result: ImportResult
) -> None:
    for r in rows:
        await _upsert(s, ConsumptionLineRow, r.line_id, r.model_dump(), result)
    result.notes.append(
        "payouts already calculated keep their statement; a FROZEN one is recalculated at release"
    )


async def _check_bill_status(s: AsyncSession, rows: list[BillStatusRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: (r.partner_id, r.period), "partner_id")
    ids = {r.partner_id for r in rows}
    known = set((await s.scalars(select(Partner.id).where(Partner.id.in_(ids)))).all())
    for n, r in enumerate(rows, start=1):
        if r.partner_id not in known:
            errors.append(RowError(n, "partner_id", f"no partner {r.partner_id}"))
    return errors


async def _write_bill_status(
    s: AsyncSession, rows: list[BillStatusRow], result: ImportResult
) -> None:
    for r in rows:
        await _upsert(s, PartnerBillStatus, (r.partner_id, r.period), r.model_dump(), result)
    result.extra["paid"] = [
        {
            "partner_id": r.partner_id,
            "period": r.period,
            "paid_on": r.paid_on.isoformat() if r.paid_on else None,
        }
        for r in rows
        if r.all_paid
    ]


async def _check_rates(s: AsyncSession, rows: list[RateRow]) -> list[RowError]:
    return duplicates(rows, lambda r: (r.partner_type, r.site), "partner_type")


async def _write_rates(s: AsyncSession, rows: list[RateRow], result: ImportResult) -> None:
    for r in rows:
        values = {"partner_type": r.partner_type.value, "site": r.site.value, "rate": r.rate}
        await _upsert(s, IncentiveRate, (r.partner_type.value, r.site.value), values, result)
    result.notes.append("new rates apply to statements calculated from now on")


async def _release_frozen(ctx: AppContext, result: ImportResult) -> None:
    """After a bill-status import: FROZEN payouts of the paid months re-check their bills."""
    paid: list[dict[str, Any]] = result.extra.get("paid", [])
    if not paid:
        return
    async with ctx.sessions() as s:
        frozen = (
            await s.scalars(
                select(IncentivePayout).where(IncentivePayout.status == PayoutStatus.FROZEN.value)
            )
        ).all()
    months = {(p["partner_id"], p["period"]): p["paid_on"] for p in paid}
    targets = [f for f in frozen if (f.partner_id, f.period) in months]
    if not targets:
        return
    client = await ctx.client()
    for payout in targets:
        paid_on = months[(payout.partner_id, payout.period)]
        await client.get_workflow_handle(payout.payout_id).signal(
            IncentivePayoutWorkflow.bill_paid,
            BillPaid(paid_on=date.fromisoformat(paid_on) if paid_on else None),
        )
        result.notes.append(f"frozen payout {payout.payout_id} told that its bills are paid")


CONSUMPTION = register_importer(
    Importer(
        "consumption",
        ConsumptionRow,
        _write_consumption,
        _check_consumption,
        help="Consumption lines: line_id, customer_id, consumed_on, amount, payment_kind, site, "
        "product_line.",
    )
)
BILL_STATUS = register_importer(
    Importer(
        "bill-status",
        BillStatusRow,
        _write_bill_status,
        _check_bill_status,
        help="Partner bill status per month: partner_id, period (YYYY-MM), all_paid, paid_on.",
    )
)
RATES = register_importer(
    Importer(
        "incentive-rates",
        RateRow,
        _write_rates,
        _check_rates,
        help="Incentive rates: partner_type, site (china|overseas), rate (e.g. 0.0500).",
    )
)
