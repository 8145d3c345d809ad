"""The incentive payout workflow with the real activities: the three payout methods, holds,
freezes, finance decisions, lapses and the one-payout guarantees."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.payments import FakePaymentGateway, PaymentActivities
from activities.registry import Deps, build_activities
from domain.incentives import (
    BillPaid,
    CertificationRecorded,
    IncentiveRequest,
    InvoiceSubmission,
    PayoutApplication,
    PayoutMethod,
    PayoutStatus,
    PayoutView,
    payout_workflow_id,
)
from domain.invoices import InvoiceDetails
from domain.parties import Actor, Decision, Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import (
    AuditEvent,
    Binding,
    ConsumptionLineRow,
    HumanTask,
    IncentiveInvoice,
    IncentivePayment,
    IncentivePayout,
    IncentiveVoucher,
    Partner,
    PartnerBillStatus,
    RechargeCredit,
)
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually, finished, new_task_queue, save_history
from workflows.incentive import IncentivePayoutWorkflow
from workflows.registry import ALL_WORKFLOWS

S = PayoutStatus
PERIOD = "2026-10"
VENDOR_TITLE = "Huawei Cloud Computing Technologies Co., Ltd."
VENDOR_TAX_ID = "91520900MA6J6CBN9Q"
USCC = {"P-1": "91330106MA2H0XPF0Y", "P-2": "91440300MA5FCG0L5U"}
Sessions = async_sessionmaker[AsyncSession]


class Party:
    """The people of one partner's payout."""

    def __init__(self, admin: Actor, finance: Actor, ops: Actor) -> None:
        self.admin, self.finance, self.ops = admin, finance, ops


async def seed(
    sessions: Sessions,
    pid: str = "P-1",
    *,
    certified: bool = True,
    bill_paid: bool = True,
    cash: str = "20000.00",
    vendor_staff: bool = True,
) -> Party:
    """A partner with a bound customer, one month of consumption and its bill status.

    Performance: ``cash`` in China at 5% plus 10,000 overseas at 4% (the settings' default
    rates for a solution provider); a voucher line does not count.
    """
    await add_partner(sessions, pid, uscc=USCC[pid], business_certified=certified)
    cid = f"C-{pid}"
    await add_customer(sessions, cid)
    async with sessions.begin() as s:
        s.add(
            Binding(
                idempotency_key=f"b-{cid}",
                partner_id=pid,
                customer_id=cid,
                mode="resale",
                status="active",
                created_by="test",
                started_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        for n, (amount, kind, site) in enumerate(
            [
                (cash, "cash", "china"),
                ("10000.00", "stored_value_card_spend", "overseas"),
                ("5000.00", "voucher", "china"),
            ]
        ):
            s.add(
                ConsumptionLineRow(
                    line_id=f"{pid}-L{n}",
                    customer_id=cid,
                    consumed_on=date(2026, 10, 10 + n),
                    amount=Decimal(amount),
                    payment_kind=kind,
                    site=site,
                    product_line="cloud_service",
                )
            )
        s.add(
            PartnerBillStatus(
                partner_id=pid,
                period=PERIOD,
                all_paid=bill_paid,
                paid_on=date(2026, 10, 28) if bill_paid else None,
            )
        )
    admin = await add_user(sessions, f"{pid}-admin", Role.PARTNER_ADMIN, partner_id=pid)
    finance = Actor(user_id="fin-1", role=Role.FINANCE)
    ops = Actor(user_id="ops-1", role=Role.OPS)
    if vendor_staff:
        finance = await add_user(sessions, "fin-1", Role.FINANCE)
        ops = await add_user(sessions, "ops-1", Role.OPS)
    return Party(admin, finance, ops)


def request(pid: str = "P-1", **kw: Any) -> IncentiveRequest:
    return IncentiveRequest(
        partner_id=pid,
        period=PERIOD,
        started_by="ops-1",
        vendor_invoice_title=VENDOR_TITLE,
        vendor_tax_id=VENDOR_TAX_ID,
        **kw,
    )


def business_day(at: datetime) -> date:
    """The day in China (UTC+8, the payout's default business time zone)."""
    return request().business_date(at)


def workflow_id(pid: str = "P-1") -> str:
    """The business key plus a per-test suffix: the test server outlives each test's database."""
    return f"{payout_workflow_id(pid, PERIOD)}.{uuid.uuid4().hex[:8]}"


async def start(
    client: Client, task_queue: str, pid: str = "P-1", wf_id: str | None = None, **kw: Any
) -> WorkflowHandle[IncentivePayoutWorkflow, PayoutView]:
    return await client.start_workflow(
        IncentivePayoutWorkflow.run,
        request(pid, **kw),
        id=wf_id or workflow_id(pid),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def reach(
    h: WorkflowHandle[IncentivePayoutWorkflow, PayoutView], status: PayoutStatus
) -> PayoutView:
    async def check() -> PayoutView:
        v = await h.query(IncentivePayoutWorkflow.status)
        assert v.status == status, v.status
        return v

    return await eventually(check)


async def apply(
    h: WorkflowHandle[IncentivePayoutWorkflow, PayoutView], admin: Actor, method: PayoutMethod
) -> PayoutView:
    await reach(h, S.AWAITING_APPLICATION)
    return await h.execute_update(
        IncentivePayoutWorkflow.apply,
        PayoutApplication(actor=admin, method=method),
        id=f"apply-{uuid.uuid4()}",
    )


def invoice_for(
    view: PayoutView, number: str, total: Decimal | None = None, **kw: Any
) -> InvoiceDetails:
    """A correct VAT special invoice for (part of) the payout, from its invoice list."""
    il = view.invoice_list
    assert il is not None and view.notified_at is not None
    total = total if total is not None else il.amount
    tax = (total * Decimal("6") / Decimal("106")).quantize(Decimal("0.01"))
    values: dict[str, Any] = dict(
        invoice_number=number,
        invoice_type="vat_special",
        buyer_title=il.buyer_title,
        buyer_tax_id=il.buyer_tax_id,
        seller_name=il.seller_name,
        seller_tax_id=il.seller_tax_id,
        amount_excl_tax=total - tax,
        tax_amount=tax,
        total=total,
        issued_on=business_day(view.notified_at),
    )
    values.update(kw)
    return InvoiceDetails.model_validate(values)


async def submit(
    h: WorkflowHandle[IncentivePayoutWorkflow, PayoutView], admin: Actor, inv: InvoiceDetails
) -> Any:
    return await h.execute_update(
        IncentivePayoutWorkflow.submit_invoice,
        InvoiceSubmission(actor=admin, invoice=inv),
        id=f"invoice-{uuid.uuid4()}",
    )


async def count(sessions: Sessions, table: type, *where: Any) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def stop(
    h: WorkflowHandle[IncentivePayoutWorkflow, PayoutView], sessions: Sessions, last_event: str
) -> None:
    """Terminates a workflow the test is done with, once its last step's activities are done.

    The time-skipping test server keeps time locked for an activity that was running when
    its workflow was terminated, which would stall every later test that moves time.
    """

    async def idle() -> None:
        async with sessions() as s:
            events = (
                await s.scalars(select(AuditEvent.event).where(AuditEvent.workflow_id == h.id))
            ).all()
        assert last_event in events, events
        desc = await h.describe()
        assert not desc.raw_description.pending_activities

    await eventually(idle)
    await h.terminate("test done")


def subjects(mailbox: MailSink, to: str) -> list[str]:
    return [m.subject for m in mailbox.to(to)]


# ----- the three methods -------------------------------------------------------------------


async def test_bank_transfer_end_to_end(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    p = await seed(sessions)
    h = await start(client, worker.task_queue)
    # 20,000 x 5% + 10,000 (stored-value card spend, overseas) x 4%; the voucher line is out
    view = await reach(h, S.AWAITING_APPLICATION)
    assert view.amount == Decimal("1400.00")
    assert view.statement is not None and view.statement.excluded[0].rule == "voucher"
    await eventually(lambda: _has_mail(mailbox, "p-1@partner.test", "incentive statement"))

    view = await apply(h, p.admin, PayoutMethod.BANK_TRANSFER)
    assert view.status == S.AWAITING_INVOICE
    assert view.invoice_list is not None
    assert (view.invoice_list.buyer_title, view.invoice_list.buyer_tax_id) == (
        VENDOR_TITLE,
        VENDOR_TAX_ID,
    )
    note = await eventually(lambda: _has_mail(mailbox, "p-1@partner.test", "Invoice notification"))
    assert (
        "¥1,400.00" in note.text() and VENDOR_TITLE in note.text() and VENDOR_TAX_ID in note.text()
    )

    refused = await submit(h, p.admin, invoice_for(view, "11111111", invoice_type="vat_ordinary"))
    assert not refused.accepted
    assert [x.rule for x in refused.problems] == ["special_invoice_required"]
    accepted = await submit(h, p.admin, invoice_for(view, "22222222"))
    assert accepted.accepted and accepted.remaining == 0

    await reach(h, S.AWAITING_APPROVAL)
    ask = await eventually(lambda: _has_mail(mailbox, "fin-1@users.test", "Approve payout"))
    assert "http://links.test/a/" in ask.text()  # signed approve / reject links
    approved = await h.execute_update(
        IncentivePayoutWorkflow.approve, Decision(actor=p.finance), id="approve-1"
    )
    assert approved.status in (S.APPROVED, S.PAID)
    result = await finished(env, h)
    assert result.status == S.PAID and result.payment_reference
    assert result.payment_reference.startswith("FAKE-")

    assert await count(sessions, IncentivePayment, IncentivePayment.status == "paid") == 1
    assert await count(sessions, IncentiveInvoice) == 1  # the refused one is not recorded
    async with sessions() as s:
        payout = await s.scalar(select(IncentivePayout))
        tasks = (await s.scalars(select(HumanTask).order_by(HumanTask.id))).all()
    assert payout is not None and payout.status == "PAID" and payout.amount == Decimal("1400.00")
    assert [(t.kind, t.status, t.decided_by) for t in tasks] == [
        ("incentive_application", "done", "P-1-admin"),
        ("incentive_invoice", "done", "P-1-admin"),
        ("incentive_approval", "done", "fin-1"),
    ]
    assert any(s.startswith("Paid:") for s in subjects(mailbox, "p-1@partner.test"))
    await save_history(h, "incentive_payout-bank_transfer")


async def test_voucher_is_issued_once_without_invoice_and_a_second_start_pays_nothing(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    p = await seed(sessions)
    h = await start(client, worker.task_queue)
    with pytest.raises(WorkflowAlreadyStartedError):
        await start(client, worker.task_queue, wf_id=h.id)  # same partner and month: refused
    view = await apply(h, p.admin, PayoutMethod.VOUCHER)
    assert view.status == S.PAID and view.payment_reference
    again = await h.execute_update(
        IncentivePayoutWorkflow.apply,
        PayoutApplication(actor=p.admin, method=PayoutMethod.VOUCHER),
        id="apply-again",
    )
    assert again.payment_reference == view.payment_reference  # repeated: the first result
    assert (await finished(env, h)).status == S.PAID
    assert await count(sessions, IncentiveVoucher) == 1
    assert not any("Invoice" in s for s in subjects(mailbox, "p-1@partner.test"))

    # Even a new run allowed by a looser reuse policy finds the month settled and pays nothing.
    h2 = await client.start_workflow(
        IncentivePayoutWorkflow.run,
        request(),
        id=h.id,
        task_queue=worker.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    second = await finished(env, h2)
    assert second.status == S.ALREADY_SETTLED and "PAID" in (second.reason or "")
    assert await count(sessions, IncentiveVoucher) == 1
    # The FIRST run (the one that paid): a plain handle would fetch the newest run.
    first = client.get_workflow_handle(h.id, run_id=h.first_execution_run_id)
    await save_history(first, "incentive_payout-voucher")


async def test_recharge_account_with_two_invoices_adding_up(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    p = await seed(sessions)
    h = await start(client, worker.task_queue)
    view = await apply(h, p.admin, PayoutMethod.RECHARGE_ACCOUNT)
    first = await submit(h, p.admin, invoice_for(view, "33333331", Decimal("1000.00")))
    assert first.accepted and first.remaining == Decimal("400.00")
    too_much = await submit(h, p.admin, invoice_for(view, "33333332", Decimal("1000.00")))
    assert [x.rule for x in too_much.problems] == ["total_exceeds_payout"]
    assert "400.00 remains" in too_much.problems[0].message
    # the same accepted invoice again changes nothing
    repeat = await submit(h, p.admin, invoice_for(view, "33333331", Decimal("1000.00")))
    assert repeat.accepted and repeat.remaining == Decimal("400.00")
    second = await submit(h, p.admin, invoice_for(view, "33333333", Decimal("400.00")))
    assert second.accepted and second.remaining == 0
    await reach(h, S.AWAITING_APPROVAL)
    await h.execute_update(IncentivePayoutWorkflow.approve, Decision(actor=p.finance), id="a")
    result = await finished(env, h)
    assert result.status == S.PAID and [i.invoice_number for i in result.invoices] == [
        "33333331",
        "33333333",
    ]
    async with sessions() as s:
        credits = (await s.scalars(select(RechargeCredit))).all()
    assert [c.amount for c in credits] == [Decimal("1400.00")]
    assert await count(sessions, IncentivePayment) == 0
    await save_history(h, "incentive_payout-recharge_two_invoices")


# ----- holds, freezes, nothing to pay ------------------------------------------------------


async def test_held_for_certification_then_released(
    client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    p = await seed(sessions, certified=False)
    h = await start(client, worker.task_queue)
    view = await apply(h, p.admin, PayoutMethod.BANK_TRANSFER)
    assert view.status == S.HELD and "certification" in (view.reason or "")
    assert view.invoice_list is None  # the invoice list waits for the certification
    await eventually(lambda: _has_mail(mailbox, "p-1@partner.test", "on hold"))
    async with sessions.begin() as s:
        await s.execute(update(Partner).where(Partner.id == "P-1").values(business_certified=True))
    await h.signal(
        IncentivePayoutWorkflow.certification_recorded, CertificationRecorded(partner_id="P-1")
    )
    view = await reach(h, S.AWAITING_INVOICE)
    assert view.invoice_list is not None and view.reason is None
    await eventually(lambda: _has_mail(mailbox, "p-1@partner.test", "Invoice notification"))
    await stop(h, sessions, "invoice_notification_sent")


async def test_frozen_for_an_unpaid_bill_then_released_the_day_after_payment(
    client: Client,
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
) -> None:
    p = await seed(sessions, bill_paid=False)
    h = await start(client, worker.task_queue)
    view = await reach(h, S.FROZEN)
    assert "unpaid" in (view.reason or "")
    await eventually(lambda: _has_mail(mailbox, "p-1@partner.test", "frozen"))
    # the billing data is corrected while frozen: the statement is recomputed at release
    paid_on = business_day(await env.get_current_time())
    async with sessions.begin() as s:
        await s.execute(
            update(PartnerBillStatus)
            .where(PartnerBillStatus.partner_id == "P-1")
            .values(all_paid=True, paid_on=paid_on)
        )
        await s.execute(
            update(ConsumptionLineRow)
            .where(ConsumptionLineRow.line_id == "P-1-L0")
            .values(amount=Decimal("30000.00"))
        )
    await h.signal(IncentivePayoutWorkflow.bill_paid, BillPaid(paid_on=paid_on))

    async def release_known() -> PayoutView:
        v = await h.query(IncentivePayoutWorkflow.status)
        assert v.status == S.FROZEN and v.release_at is not None
        return v

    view = await eventually(release_known)
    # 00:00 of the day after payment in China (UTC+8)
    assert view.release_at == datetime.combine(
        paid_on + timedelta(days=1), datetime.min.time(), UTC
    ) - timedelta(hours=8)

    # Move time only once the workflow sits on its release timer (the test server's clock
    # must not be unlocked while the step before it still runs).
    async def recorded() -> None:
        async with sessions() as s:
            row = await s.scalar(select(IncentivePayout))
        assert row is not None and "released the day after payment, on" in (row.reason or "")

    await eventually(recorded)
    await env.sleep(timedelta(days=1, hours=1))
    view = await reach(h, S.AWAITING_APPLICATION)
    assert view.amount == Decimal("1900.00")
    await eventually(lambda: _has_mail(mailbox, "p-1@partner.test", "incentive statement"))
    view = await apply(h, p.admin, PayoutMethod.VOUCHER)
    assert view.status == S.PAID
    await finished(env, h)
    await save_history(h, "incentive_payout-frozen_then_released")


async def test_zero_incentive_closes_with_a_notice(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    await seed(sessions)
    async with sessions.begin() as s:  # refunds cancel the month out
        await s.execute(
            update(ConsumptionLineRow)
            .where(ConsumptionLineRow.line_id == "P-1-L1")
            .values(amount=Decimal("-25000.00"))
        )
    h = await start(client, worker.task_queue)
    result = await finished(env, h)
    # 20,000 x 5% = 1,000 minus 25,000 x 4% = 1,000 deducted first: nothing to pay
    assert result.status == S.NO_INCENTIVE
    assert result.statement is not None and result.statement.deducted == Decimal("1000.00")
    assert any("No incentive" in s for s in subjects(mailbox, "p-1@partner.test"))
    assert await count(sessions, HumanTask) == 0
    await save_history(h, "incentive_payout-no_incentive")


# ----- finance, lapses, the payment gateway --------------------------------------------------


async def test_finance_rejects_with_a_reason(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    p = await seed(sessions)
    h = await start(client, worker.task_queue)
    view = await apply(h, p.admin, PayoutMethod.BANK_TRANSFER)
    await submit(h, p.admin, invoice_for(view, "44444444"))
    await reach(h, S.AWAITING_APPROVAL)
    from temporalio.client import WorkflowUpdateFailedError

    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await h.execute_update(IncentivePayoutWorkflow.reject, Decision(actor=p.finance), id="r0")
    assert "needs a reason" in str(no_reason.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as not_finance:
        await h.execute_update(IncentivePayoutWorkflow.approve, Decision(actor=p.admin), id="r1")
    assert "only finance" in str(not_finance.value.cause)
    rejected = await h.execute_update(
        IncentivePayoutWorkflow.reject,
        Decision(actor=p.finance, comment="bank account under review"),
        id="r2",
    )
    assert rejected.status == S.REJECTED
    result = await finished(env, h)
    assert result.status == S.REJECTED and result.reason == "bank account under review"
    rejection = await eventually(lambda: _has_mail(mailbox, "p-1@partner.test", "was rejected"))
    assert "bank account under review" in rejection.text()
    assert await count(sessions, IncentivePayment) == 0
    await save_history(h, "incentive_payout-rejected")


async def test_invoice_window_lapses_after_60_days(
    client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    p = await seed(sessions)
    h = await start(client, worker.task_queue)
    await apply(h, p.admin, PayoutMethod.BANK_TRANSFER)
    result = await h.result()  # time skips through the reminders to the lapse
    assert result.status == S.EXPIRED and "invoice window" in (result.reason or "")
    assert result.invoice_due_at is not None and result.notified_at is not None
    assert result.invoice_due_at - result.notified_at == timedelta(days=60)
    partner_mail = subjects(mailbox, "p-1@partner.test")
    assert sum("Reminder: invoices" in s for s in partner_mail) == 2  # 30 and 7 days before
    assert any("has lapsed" in s for s in partner_mail)
    assert any("Payout lapsed" in s for s in subjects(mailbox, "ops-1@users.test"))
    async with sessions() as s:
        task = await s.scalar(select(HumanTask).where(HumanTask.kind == "incentive_invoice"))
    assert task is not None and task.status == "expired"
    await save_history(h, "incentive_payout-invoice_lapsed")


async def test_payment_gateway_fails_twice_then_pays_exactly_once(
    env: WorkflowEnvironment, client: Client, deps: Deps, sessions: Sessions, mailbox: MailSink
) -> None:
    gateway = FakePaymentGateway()
    gateway.fail_next(2)
    fake_pay = PaymentActivities(deps.sessions, gateway).pay_bank_transfer
    # the real activities, with the bank transfer going to this gateway
    activities = [a for a in build_activities(deps) if a.__name__ != "pay_bank_transfer"]
    async with Worker(
        client,
        task_queue=new_task_queue(),
        workflows=ALL_WORKFLOWS,
        activities=[*activities, fake_pay],
    ) as w:
        p = await seed(sessions)
        h = await start(client, w.task_queue)
        view = await apply(h, p.admin, PayoutMethod.BANK_TRANSFER)
        await submit(h, p.admin, invoice_for(view, "55555555"))
        await reach(h, S.AWAITING_APPROVAL)
        await h.execute_update(IncentivePayoutWorkflow.approve, Decision(actor=p.finance), id="a")
        result = await finished(env, h)
    assert result.status == S.PAID
    assert len(gateway.calls) == 3  # two transient failures, then success
    assert {c.idempotency_key for c in gateway.calls} == {f"{h.id}:bank_transfer"}
    assert len(gateway.transfers) == 1
    async with sessions() as s:
        payments = (await s.scalars(select(IncentivePayment))).all()
    assert [(x.status, x.attempts, x.amount) for x in payments] == [("paid", 3, Decimal("1400.00"))]
    assert result.payment_reference == gateway.transfers[f"{h.id}:bank_transfer"].gateway_reference


async def test_application_window_lapses(
    client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    await seed(sessions)
    h = await start(client, worker.task_queue)
    result = await h.result()  # the clock skips through the window
    assert result.status == S.EXPIRED and "did not apply" in (result.reason or "")
    assert any("Reminder: apply" in s for s in subjects(mailbox, "p-1@partner.test"))


async def test_only_the_partner_admin_applies(
    client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink, settings: Settings
) -> None:
    p = await seed(sessions)
    staff = await add_user(sessions, "P-1-staff", Role.PARTNER_STAFF, partner_id="P-1")
    h = await start(client, worker.task_queue)
    await reach(h, S.AWAITING_APPLICATION)
    from temporalio.client import WorkflowUpdateFailedError

    for who in (staff, p.finance):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(
                IncentivePayoutWorkflow.apply,
                PayoutApplication(actor=who, method=PayoutMethod.VOUCHER),
                id=f"apply-{who.user_id}",
            )
        assert "partner_admin" in str(refused.value.cause)
    await apply(h, p.admin, PayoutMethod.BANK_TRANSFER)
    with pytest.raises(WorkflowUpdateFailedError) as changed:
        await h.execute_update(
            IncentivePayoutWorkflow.apply,
            PayoutApplication(actor=p.admin, method=PayoutMethod.VOUCHER),
            id="apply-other-method",
        )
    assert "cannot be changed" in str(changed.value.cause)
    await stop(h, sessions, "invoice_notification_sent")


def _has_mail(mailbox: MailSink, to: str, subject_part: str) -> Any:
    async def check() -> Any:
        found = [m for m in mailbox.to(to) if subject_part in m.subject]
        assert found, [m.subject for m in mailbox.to(to)]
        return found[-1]

    return check()
