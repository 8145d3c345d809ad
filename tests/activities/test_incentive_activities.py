"""Incentive activities on SQLite and PostgreSQL: each write happens once per key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.incentives import IncentiveActivities
from activities.payments import FakePaymentGateway, PaymentActivities
from domain.incentive_models import (
    CreditRecharge,
    IssueVoucher,
    OpenPayout,
    PartnerMonth,
    PartnerPage,
    PayoutUpdate,
    RecordInvoice,
)
from domain.incentives import PayoutStatus
from domain.invoices import InvoiceDetails, InvoiceExpectations
from domain.payment_models import BankTransfer
from infra.config import Settings
from infra.tables import (
    Binding,
    ConsumptionLineRow,
    IncentiveInvoice,
    IncentivePayment,
    IncentivePayout,
    IncentiveRate,
    IncentiveVoucher,
    PartnerBillStatus,
    RechargeCredit,
)
from tests.factories import add_customer, add_partner

Sessions = async_sessionmaker[AsyncSession]
AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
RATES = Settings(_env_file=None).incentive_rates


def acts(sessions: Sessions) -> IncentiveActivities:
    return IncentiveActivities(sessions, RATES)  # as activities/registry.py builds it


async def rows(sessions: Sessions, table: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def payout(sessions: Sessions, pid: str = "P-1", period: str = "2026-10") -> str:
    pid_row = f"incentive-{pid}-{period}"
    await acts(sessions).open_payout(
        OpenPayout(payout_id=pid_row, partner_id=pid, period=period, run_id="r1", at=AT)
    )
    return pid_row


async def test_open_payout_once(db_kind: str, sessions: Sessions) -> None:
    await add_partner(sessions, "P-1")
    a = acts(sessions)
    req = OpenPayout(
        payout_id="incentive-P-1-2026-10", partner_id="P-1", period="2026-10", run_id="run-1", at=AT
    )
    first = await a.open_payout(req)
    second = await a.open_payout(req.model_copy(update={"run_id": "run-2"}))
    assert first.run_id == second.run_id == "run-1"  # the second run finds the first's row
    assert second.status == PayoutStatus.CALCULATING
    assert await rows(sessions, IncentivePayout) == 1


def _invoice(number: str = "12345678", total: str = "100.00") -> InvoiceDetails:
    return InvoiceDetails(
        invoice_number=number,
        invoice_type="vat_special",
        buyer_title="Vendor Ltd.",
        buyer_tax_id="91520900MA6J6CBN9Q",
        seller_name="P-1 Tech Co., Ltd.",
        seller_tax_id="91350100M000100Y43",
        amount_excl_tax=Decimal(total) - Decimal("6.00"),
        tax_amount=Decimal("6.00"),
        total=Decimal(total),
        issued_on=date(2026, 11, 5),
    )


def _expect(payout_id: str, company: str = "P-1 Tech Co., Ltd.") -> InvoiceExpectations:
    return InvoiceExpectations(
        payout_id=payout_id,
        vendor_title="Vendor Ltd.",
        vendor_tax_id="91520900MA6J6CBN9Q",
        partner_company=company,
        partner_uscc="91350100M000100Y43",
        payout_amount=Decimal("100.00"),
        notified_on=date(2026, 11, 4),
        today=date(2026, 11, 6),
    )


async def test_record_invoice_once_and_never_for_two_payouts(
    db_kind: str, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-1")
    await add_partner(sessions, "P-2")
    p1, p2 = await payout(sessions, "P-1"), await payout(sessions, "P-2")
    a = acts(sessions)
    req = RecordInvoice(invoice=_invoice(), expectations=_expect(p1), submitted_by="u", at=AT)
    assert (await a.record_invoice(req)).accepted
    assert (await a.record_invoice(req)).accepted  # a retry after the commit
    assert await rows(sessions, IncentiveInvoice) == 1
    other = await a.record_invoice(
        RecordInvoice(invoice=_invoice(), expectations=_expect(p2), submitted_by="u", at=AT)
    )
    assert not other.accepted and [p.rule for p in other.problems] == ["invoice_number_used"]
    assert p1 in other.problems[0].message
    bad = await a.record_invoice(
        RecordInvoice(
            invoice=_invoice("87654321", total="100.01"),
            expectations=_expect(p2),
            submitted_by="u",
            at=AT,
        )
    )
    assert [p.rule for p in bad.problems] == ["total_exceeds_payout"]
    assert await rows(sessions, IncentiveInvoice) == 1


async def test_voucher_and_recharge_credit_once(db_kind: str, sessions: Sessions) -> None:
    await add_partner(sessions, "P-1")
    p = await payout(sessions)
    a = acts(sessions)
    v = IssueVoucher(
        key=f"{p}:voucher", payout_id=p, partner_id="P-1", amount=Decimal("12.34"), at=AT
    )
    v1, v2 = await a.issue_voucher(v), await a.issue_voucher(v)
    assert v1.voucher_code == v2.voucher_code and v1.amount == Decimal("12.34")
    c = CreditRecharge(
        key=f"{p}:recharge", payout_id=p, partner_id="P-1", amount=Decimal("12.34"), at=AT
    )
    c1, c2 = await a.credit_recharge_account(c), await a.credit_recharge_account(c)
    assert c1.credit_id == c2.credit_id
    assert (await rows(sessions, IncentiveVoucher), await rows(sessions, RechargeCredit)) == (1, 1)


async def test_bank_transfer_once_even_when_retried(db_kind: str, sessions: Sessions) -> None:
    await add_partner(sessions, "P-1")
    p = await payout(sessions)
    gateway = FakePaymentGateway()
    pay = PaymentActivities(sessions, gateway)
    req = BankTransfer(
        key=f"{p}:bank_transfer",
        payout_id=p,
        partner_id="P-1",
        payee_name="P-1 Tech",
        payee_tax_id="91350100M000100Y43",
        amount=Decimal("1400.00"),
        at=AT,
    )
    gateway.fail_next(1)
    try:
        await pay.pay_bank_transfer(req)
        raise AssertionError("the gateway was told to fail")
    except Exception as exc:
        assert "unavailable" in str(exc)
    first = await pay.pay_bank_transfer(req)
    again = await pay.pay_bank_transfer(req.model_copy(update={"amount": Decimal("9999.00")}))
    assert first.gateway_reference == again.gateway_reference
    assert again.amount == Decimal("1400.00")  # the recorded amount, whatever a retry says
    assert len(gateway.calls) == 2 and len(gateway.transfers) == 1  # no call once paid
    async with sessions() as s:
        (row,) = (await s.scalars(select(IncentivePayment))).all()
    assert (row.status, row.attempts, row.last_error) == ("paid", 2, None)


async def test_compute_incentive_reads_rates_bindings_carry_and_bills(
    db_kind: str, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-1", type="cloud_reseller")
    await add_customer(sessions, "C-1")
    await add_customer(sessions, "C-2")
    async with sessions.begin() as s:
        s.add(
            Binding(
                idempotency_key="b1",
                partner_id="P-1",
                customer_id="C-1",
                mode="resale",
                status="active",
                created_by="t",
                started_at=datetime(2026, 10, 10, 9, tzinfo=UTC),
            )
        )
        s.add(IncentiveRate(partner_type="cloud_reseller", site="china", rate=Decimal("0.1")))
        for n, (cid, day, amount) in enumerate(
            [("C-1", 9, "500.00"), ("C-1", 10, "1000.00"), ("C-2", 12, "700.00")]
        ):
            s.add(
                ConsumptionLineRow(
                    line_id=f"L{n}",
                    customer_id=cid,
                    consumed_on=date(2026, 10, day),
                    amount=Decimal(amount),
                    payment_kind="cash",
                    site="china",
                    product_line="cloud_service",
                )
            )
        s.add(PartnerBillStatus(partner_id="P-1", period="2026-10", all_paid=False))
    p9 = await payout(sessions, "P-1", "2026-09")
    a = acts(sessions)
    await a.record_payout(
        PayoutUpdate(
            payout_id=p9,
            status=PayoutStatus.NO_INCENTIVE,
            at=AT,
            amount=Decimal("0.00"),
            carried_out=Decimal("-30.00"),
        )
    )
    facts = await a.compute_incentive(PartnerMonth(partner_id="P-1", period="2026-10"))
    st = facts.statement
    # only C-1 from the 10th; the imported China rate overrides the default (0.08)
    assert st.performance == Decimal("1000.00")
    assert {s.site.value: s.rate for s in st.sites} == {
        "china": Decimal("0.1000"),
        "overseas": Decimal("0.0600"),
    }
    assert (st.gross_incentive, st.carried_in, st.payable) == (
        Decimal("100.00"),
        Decimal("-30.00"),
        Decimal("70.00"),
    )
    assert facts.bill.known and not facts.bill.all_paid
    none = await a.bill_status(PartnerMonth(partner_id="P-1", period="2026-11"))
    assert not none.known


async def test_active_partners_page_by_page(db_kind: str, sessions: Sessions) -> None:
    for pid, status in [
        ("P-1", "ACTIVE"),
        ("P-2", "SUSPENDED"),
        ("P-3", "ACTIVE"),
        ("P-4", "ACTIVE"),
    ]:
        await add_partner(sessions, pid, status=status)
    a = acts(sessions)
    first = await a.list_active_partners(PartnerPage(limit=2))
    assert (first.ids, first.next_after) == (["P-1", "P-3"], "P-3")
    last = await a.list_active_partners(PartnerPage(after="P-3", limit=2))
    assert (last.ids, last.next_after) == (["P-4"], None)
