"""Invoice verification inside the payout workflow: every rule refuses with its reason, the
partner resubmits, and an invoice number accepted for one payout is refused for another."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.incentives import PayoutMethod, PayoutStatus
from domain.parties import Decision
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent, IncentiveInvoice, IncentivePayment
from tests.harness import eventually, finished
from tests.workflows.test_incentive import (
    USCC,
    Sessions,
    apply,
    business_day,
    count,
    invoice_for,
    reach,
    seed,
    start,
    stop,
    submit,
)
from workflows.incentive import IncentivePayoutWorkflow

S = PayoutStatus


async def test_each_rule_refuses_then_a_good_invoice_passes_and_numbers_are_unique(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    p1 = await seed(sessions, "P-1")
    p2 = await seed(sessions, "P-2", vendor_staff=False)
    h1 = await start(client, worker.task_queue, "P-1")
    h2 = await start(client, worker.task_queue, "P-2")
    v1 = await apply(h1, p1.admin, PayoutMethod.BANK_TRANSFER)
    v2 = await apply(h2, p2.admin, PayoutMethod.BANK_TRANSFER)

    # P-2 invoices part of its payout with number 90000001 first.
    taken = await submit(h2, p2.admin, invoice_for(v2, "90000001", Decimal("100.00")))
    assert taken.accepted

    assert v1.notified_at is not None
    notified = business_day(v1.notified_at)
    bad: list[tuple[str, dict[str, Any]]] = [
        ("special_invoice_required", {"invoice_type": "vat_ordinary"}),
        ("buyer_title_mismatch", {"buyer_title": "Huawei Technologies Co., Ltd."}),
        ("buyer_tax_id_mismatch", {"buyer_tax_id": "914403001922038216"}),
        ("seller_name_mismatch", {"seller_name": "Somebody Else Ltd."}),
        ("seller_tax_id_mismatch", {"seller_tax_id": USCC["P-2"]}),
        ("amounts_do_not_add_up", {"tax_amount": Decimal("1.00")}),
        ("issued_before_notification", {"issued_on": notified - timedelta(days=1)}),
        ("issued_in_future", {"issued_on": notified + timedelta(days=30)}),
    ]
    for n, (rule, change) in enumerate(bad):
        result = await submit(h1, p1.admin, invoice_for(v1, f"1000000{n}", **change))
        assert not result.accepted, rule
        assert [x.rule for x in result.problems] == [rule]
        assert result.problems[0].message
    over = await submit(h1, p1.admin, invoice_for(v1, "10000010", Decimal("1400.01")))
    assert [x.rule for x in over.problems] == ["total_exceeds_payout"]
    dup = await submit(h1, p1.admin, invoice_for(v1, "90000001"))
    assert [x.rule for x in dup.problems] == ["invoice_number_used"]
    assert h2.id in dup.problems[0].message

    view = await h1.query(IncentivePayoutWorkflow.status)
    assert view.status == S.AWAITING_INVOICE and view.invoiced == 0

    good = await submit(h1, p1.admin, invoice_for(v1, "10000099"))
    assert good.accepted and good.remaining == 0
    await reach(h1, S.AWAITING_APPROVAL)
    await h1.execute_update(IncentivePayoutWorkflow.approve, Decision(actor=p1.finance), id="ok")
    assert (await finished(env, h1)).status == S.PAID

    async with sessions() as s:
        invoices = {
            i.invoice_number: i.payout_id for i in (await s.scalars(select(IncentiveInvoice)))
        }
        refusals = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.workflow_id == h1.id, AuditEvent.event == "invoice_refused"
                )
            )
        ).all()
    assert invoices == {"90000001": h2.id, "10000099": h1.id}
    assert len(refusals) == len(bad) + 2  # every refusal is on the timeline with its reason
    assert await count(sessions, IncentivePayment) == 1

    async def p2_waits() -> None:
        v = await h2.query(IncentivePayoutWorkflow.status)
        assert v.status == S.AWAITING_INVOICE and v.invoiced == Decimal("100.00")

    await eventually(p2_waits)
    await stop(h2, sessions, "invoice_accepted")
