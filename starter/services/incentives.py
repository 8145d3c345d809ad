"""Incentive payout services: defaults, pre-checks, starting, views and decisions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from activities.incentives import statement_of
from activities.parties import partner_snapshot
from domain.incentives import (
    AcceptedInvoice,
    BillPaid,
    IncentiveRequest,
    InvoiceSubmission,
    InvoiceVerification,
    PayoutDefaults,
    PayoutMethod,
    PayoutStatus,
    PayoutView,
    payout_workflow_id,
    start_refusal,
)
from domain.invoices import InvoiceDetails
from domain.parties import Actor, Role
from domain.rules import status_rule
from infra.config import Settings
from infra.db import utcnow
from infra.tables import (
    IncentiveInvoice,
    IncentivePayout,
)
from infra.temporal import index_attributes
from starter.imports.base import (
    ImportResult,
    read_text,
)
from starter.services.cases import CaseNotFoundError, case_row
from starter.services.context import AppContext, start_checked, temporal_errors
from starter.services.errors import BadInputError, RefusedError
from workflows.incentive import IncentivePayoutWorkflow


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
    # Start and wait for the first checks in one call (update-with-start), no status polling.
    start = WithStartWorkflowOperation(
        IncentivePayoutWorkflow.run,
        req,
        id=wf_id,
        task_queue=ctx.settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=index_attributes(partner_id=req.partner_id),
    )
    return await start_checked(
        client,
        IncentivePayoutWorkflow.checked,
        start,
        what="payout start",
        started=f"payout {wf_id}",
    )


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


async def payout_update(
    ctx: AppContext,
    payout_id: str,
    verb: str,
    what: str,
    update: Any,
    payload: Callable[[str], BaseModel],
) -> Any:
    """Runs ``update`` on the payout with ``payload(nonce)``: the nonce is the update's id too,
    so a retried request is applied once. ``verb`` names the command in Temporal errors
    (``payout VERB``); after the payout ended, a refusal says how (``cannot WHAT: ...``)."""
    client = await ctx.client()
    nonce = f"{verb}-{uuid.uuid4()}"
    try:
        async with temporal_errors(f"payout {verb}"):
            return await _handle(client, payout_id).execute_update(update, payload(nonce), id=nonce)
    except RefusedError as exc:
        await finished_refusal(ctx, payout_id, what, exc)
        raise


async def submit_invoice(
    ctx: AppContext, actor: Actor, payout_id: str, details: InvoiceDetails
) -> InvoiceVerification:
    """Submits an invoice; refused (with every problem, rule of the first) unless accepted."""
    result: InvoiceVerification = await payout_update(
        ctx,
        payout_id,
        "invoice",
        "submit an invoice",
        IncentivePayoutWorkflow.submit_invoice,
        lambda nonce: InvoiceSubmission(actor=actor, invoice=details, nonce=nonce),
    )
    if not result.accepted:
        raise RefusedError(
            "; ".join(p.message for p in result.problems),
            rule=result.problems[0].rule,
            details=result,
        )
    return result


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


async def payout_show(ctx: AppContext, payout_id: str) -> PayoutView:
    """A payout as ``partnerflow payout show`` prints it: the running workflow's ``status``
    query, else (finished, or no worker to answer) what the database recorded."""
    client = await ctx.client()
    try:
        return await _handle(client, payout_id).query(IncentivePayoutWorkflow.status)
    except Exception:
        return await view_from_db(ctx, payout_id)


async def payout_for(ctx: AppContext, actor: Actor, payout_id: str) -> PayoutView:
    """``payout_show`` within ``actor``'s scope (the cases' scope: the partner's users,
    finance, ops); CaseNotFoundError outside it or for no such payout (the same answer)."""
    row = await case_row(ctx.sessions, actor, payout_id)
    if row is None or row.type != "IncentivePayoutWorkflow":
        raise CaseNotFoundError(payout_id)
    return await payout_show(ctx, payout_id)


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
