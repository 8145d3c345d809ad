"""Activities of the incentive payout: facts and statement, the payout row, invoices, vouchers
and recharge-account credits. Every write is idempotent by a key made in the workflow."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from activities.parties import partner_snapshot
from activities.tasks import apply_step
from domain.errors import NotFoundError
from domain.incentive_models import (
    Contact,
    Contacts,
    CreditRecharge,
    CreditRef,
    IncentiveFacts,
    InvoiceOutcome,
    IssueVoucher,
    OpenPayout,
    PartnerIds,
    PartnerMonth,
    PartnerPage,
    PartnerQuery,
    PayoutRecord,
    PayoutUpdate,
    RecordInvoice,
    StaffQuery,
    VoucherRef,
)
from domain.incentives import BillStatus, PayoutStatus, period_bounds
from domain.invoices import (
    InvoiceDetails,
    number_not_used,
    verify_invoice,
)
from domain.parties import PartnerSnapshot, PartnerStatus
from domain.performance import (
    ZERO,
    BindingPeriod,
    ConsumptionLine,
    Site,
    Statement,
    compute_statement,
)
from domain.tasks import Done
from infra.db import insert_ignore
from infra.tables import (
    Binding,
    ConsumptionLineRow,
    IncentiveInvoice,
    IncentivePayout,
    IncentiveRate,
    IncentiveVoucher,
    Partner,
    PartnerBillStatus,
    RechargeCredit,
    User,
)


def _same_invoice(row: IncentiveInvoice, inv: InvoiceDetails) -> bool:
    return (
        row.invoice_type == inv.invoice_type.value
        and row.total == inv.total
        and row.issued_on == inv.issued_on
        and row.seller_tax_id == inv.seller_tax_id
    )


class IncentiveActivities:
    """Database work of the incentive payout."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], rate_defaults: Mapping[str, Decimal]
    ) -> None:
        self._sessions = sessions
        self._rate_defaults = dict(rate_defaults)

    @activity.defn
    @business_errors
    async def open_payout(self, req: OpenPayout) -> PayoutRecord:
        """Creates the payout row once; a second run finds the first one's row."""
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, IncentivePayout, ["payout_id"]).values(
                    payout_id=req.payout_id,
                    partner_id=req.partner_id,
                    period=req.period,
                    run_id=req.run_id,
                    status=PayoutStatus.CALCULATING.value,
                    carried_out=ZERO,
                    created_at=req.at,
                    updated_at=req.at,
                )
            )
            row = await s.scalar(
                select(IncentivePayout).where(IncentivePayout.payout_id == req.payout_id)
            )
            assert row is not None
            return PayoutRecord(
                payout_id=row.payout_id,
                run_id=row.run_id,
                status=PayoutStatus(row.status),
                amount=row.amount,
                method=row.method,
                payment_reference=row.payment_reference,
            )

    @activity.defn
    @business_errors
    async def record_payout(self, req: PayoutUpdate) -> Done:
        """Writes the payout's new status and whatever else the step decided."""
        values = req.model_dump(exclude_none=True, exclude={"payout_id", "at", "statement", "step"})
        values["status"] = req.status.value
        values["updated_at"] = req.at
        if req.statement is not None:
            values["statement_json"] = req.statement.model_dump_json()
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            await s.execute(
                update(IncentivePayout)
                .where(IncentivePayout.payout_id == req.payout_id)
                .values(**values)
            )
        return Done()

    @activity.defn
    @business_errors
    async def compute_incentive(self, req: PartnerMonth) -> IncentiveFacts:
        """The partner, its statement for the month, and the month's bill status, read now."""
        start, end = period_bounds(req.period)
        async with self._sessions() as s:
            partner = await partner_snapshot(s, req.partner_id)
            if partner is None:
                raise NotFoundError(f"partner {req.partner_id} does not exist")
            bindings = (
                await s.scalars(select(Binding).where(Binding.partner_id == req.partner_id))
            ).all()
            periods = [
                BindingPeriod(
                    customer_id=b.customer_id,
                    start=b.started_at.date(),
                    end=b.ended_at.date() if b.ended_at is not None else None,
                )
                for b in bindings
            ]
            customers = sorted({p.customer_id for p in periods})
            rows = (
                (
                    await s.scalars(
                        select(ConsumptionLineRow)
                        .where(
                            ConsumptionLineRow.customer_id.in_(customers),
                            ConsumptionLineRow.consumed_on >= start,
                            ConsumptionLineRow.consumed_on < end,
                        )
                        .order_by(ConsumptionLineRow.line_id)
                    )
                ).all()
                if customers
                else []
            )
            lines = [ConsumptionLine.model_validate(r, from_attributes=True) for r in rows]
            rates = await self._rates(s, partner.type.value)
            earlier = await s.scalar(
                select(IncentivePayout)
                .where(
                    IncentivePayout.partner_id == req.partner_id,
                    IncentivePayout.period < req.period,
                    IncentivePayout.amount.is_not(None),
                )
                .order_by(IncentivePayout.period.desc())
                .limit(1)
            )
            bill = await _bill_status(s, req.partner_id, req.period)
        statement = compute_statement(
            partner_id=req.partner_id,
            partner_type=partner.type,
            period=req.period,
            period_start=start,
            period_end=end,
            lines=lines,
            bindings=periods,
            rates=rates,
            carried_in=earlier.carried_out if earlier is not None else ZERO,
        )
        return IncentiveFacts(partner=partner, statement=statement, bill=bill)

    async def _rates(self, s: AsyncSession, partner_type: str) -> dict[Site, Decimal]:
        rows = (
            await s.scalars(select(IncentiveRate).where(IncentiveRate.partner_type == partner_type))
        ).all()
        rates: dict[Site, Decimal] = {}
        for site in Site:
            default = self._rate_defaults.get(f"{partner_type}/{site.value}")
            if default is not None:
                rates[site] = default
        for r in rows:
            rates[Site(r.site)] = r.rate
        return rates

    @activity.defn
    @business_errors
    async def bill_status(self, req: PartnerMonth) -> BillStatus:
        """Whether every bill of the partner's cycle is paid, read now."""
        async with self._sessions() as s:
            return await _bill_status(s, req.partner_id, req.period)

    @activity.defn
    @business_errors
    async def load_partner(self, req: PartnerQuery) -> PartnerSnapshot:
        """The partner, read now (for its certification)."""
        async with self._sessions() as s:
            partner = await partner_snapshot(s, req.partner_id)
        if partner is None:
            raise NotFoundError(f"partner {req.partner_id} does not exist")
        return partner

    @activity.defn
    @business_errors
    async def staff_contacts(self, req: StaffQuery) -> Contacts:
        """The active vendor staff of a role, to email."""
        async with self._sessions() as s:
            users = (
                await s.scalars(
                    select(User)
                    .where(User.role == req.role.value, User.active.is_(True))
                    .order_by(User.id)
                )
            ).all()
        return Contacts(contacts=[Contact(user_id=u.id, email=u.email) for u in users])

    @activity.defn
    @business_errors
    async def record_invoice(self, req: RecordInvoice) -> InvoiceOutcome:
        """Verifies the invoice (every rule, the number against all payouts) and records it.

        The UNIQUE invoice number settles a race between two payouts: the loser reads back
        the winner's row and gets the "number used" problem.
        """
        inv, exp = req.invoice, req.expectations
        async with self._sessions.begin() as s:
            by_number = select(IncentiveInvoice).where(
                IncentiveInvoice.invoice_number == inv.invoice_number
            )
            existing = await s.scalar(by_number)
            if (
                existing is not None
                and existing.payout_id == exp.payout_id
                and _same_invoice(existing, inv)
            ):
                return InvoiceOutcome(accepted=True)  # a retry after the commit
            in_use = dict(exp.numbers_in_use)
            if existing is not None:
                in_use[existing.invoice_number] = existing.payout_id
            problems = verify_invoice(inv, exp.model_copy(update={"numbers_in_use": in_use}))
            if problems:
                return InvoiceOutcome(accepted=False, problems=problems)
            await s.execute(
                insert_ignore(s, IncentiveInvoice, ["invoice_number"]).values(
                    invoice_number=inv.invoice_number,
                    payout_id=exp.payout_id,
                    invoice_type=inv.invoice_type.value,
                    buyer_title=inv.buyer_title,
                    buyer_tax_id=inv.buyer_tax_id,
                    seller_name=inv.seller_name,
                    seller_tax_id=inv.seller_tax_id,
                    amount_excl_tax=inv.amount_excl_tax,
                    tax_amount=inv.tax_amount,
                    total=inv.total,
                    issued_on=inv.issued_on,
                    submitted_by=req.submitted_by,
                    accepted_at=req.at,
                )
            )
            row = await s.scalar(by_number.execution_options(populate_existing=True))
            assert row is not None
            if row.payout_id != exp.payout_id:
                clash = exp.model_copy(
                    update={"numbers_in_use": {row.invoice_number: row.payout_id}}
                )
                problem = number_not_used(inv, clash)
                assert problem is not None
                return InvoiceOutcome(accepted=False, problems=[problem])
        return InvoiceOutcome(accepted=True)

    @activity.defn
    @business_errors
    async def issue_voucher(self, req: IssueVoucher) -> VoucherRef:
        """Issues the voucher once; a retry returns the same voucher."""
        code = "IV-" + hashlib.sha256(req.key.encode()).hexdigest()[:16].upper()
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, IncentiveVoucher, ["idempotency_key"]).values(
                    idempotency_key=req.key,
                    voucher_code=code,
                    payout_id=req.payout_id,
                    partner_id=req.partner_id,
                    amount=req.amount,
                    issued_at=req.at,
                )
            )
            row = await s.scalar(
                select(IncentiveVoucher).where(IncentiveVoucher.idempotency_key == req.key)
            )
            assert row is not None
            return VoucherRef(
                key=req.key,
                voucher_code=row.voucher_code,
                amount=row.amount,
                issued_at=row.issued_at,
            )

    @activity.defn
    @business_errors
    async def credit_recharge_account(self, req: CreditRecharge) -> CreditRef:
        """Credits the recharge account once; a retry returns the same credit."""
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, RechargeCredit, ["idempotency_key"]).values(
                    idempotency_key=req.key,
                    payout_id=req.payout_id,
                    partner_id=req.partner_id,
                    amount=req.amount,
                    credited_at=req.at,
                )
            )
            row = await s.scalar(
                select(RechargeCredit).where(RechargeCredit.idempotency_key == req.key)
            )
            assert row is not None
            return CreditRef(
                key=req.key, credit_id=row.id, amount=row.amount, credited_at=row.credited_at
            )

    @activity.defn
    @business_errors
    async def list_active_partners(self, req: PartnerPage) -> PartnerIds:
        """One page of ACTIVE partner ids (the monthly run starts their payouts)."""
        q = select(Partner.id).where(Partner.status == PartnerStatus.ACTIVE.value)
        if req.after is not None:
            q = q.where(Partner.id > req.after)
        async with self._sessions() as s:
            ids = list((await s.scalars(q.order_by(Partner.id).limit(req.limit + 1))).all())
        more = len(ids) > req.limit
        ids = ids[: req.limit]
        return PartnerIds(ids=ids, next_after=ids[-1] if more else None)


async def _bill_status(s: AsyncSession, partner_id: str, period: str) -> BillStatus:
    row = await s.get(PartnerBillStatus, (partner_id, period), populate_existing=True)
    if row is None:
        return BillStatus(known=False)
    return BillStatus(known=True, all_paid=row.all_paid, paid_on=row.paid_on)


def statement_of(row: IncentivePayout) -> Statement | None:
    """The statement stored on a payout row."""
    if row.statement_json is None:
        return None
    return Statement.model_validate(json.loads(row.statement_json))
