"""The payout's updates as the console, the API and the CLI run them
(``starter.services.incentives.payout_update`` and ``submit_invoice``, through the command
functions): apply, an invoice refused with its rule, an accepted one, finance's approval, and
what a request to a payout that has ended is told. Time-skipping server, real worker."""

from __future__ import annotations

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.incentives import PayoutMethod, PayoutStatus, PayoutView
from domain.parties import Decision
from infra.config import Settings
from starter.services.commands_steps import (
    PayoutApplyInput,
    PayoutInvoiceInput,
    payout_apply,
    payout_invoice,
)
from starter.services.context import AppContext
from starter.services.errors import RefusedError
from starter.services.incentives import payout_update, submit_invoice
from tests.console.helpers import Sessions
from tests.harness import finished
from tests.workflows import test_incentive as incentive
from workflows.incentive import IncentivePayoutWorkflow


@pytest.fixture
def ctx(settings: Settings, sessions: Sessions, client: Client) -> AppContext:
    """The services' context on the test's database and time-skipping server."""
    context = AppContext(settings, client)
    context._sessions = sessions  # the test's fresh database
    return context


async def test_apply_invoice_approve_then_a_late_request_is_told_how_it_ended(
    ctx: AppContext, env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions
) -> None:
    p = await incentive.seed(sessions)
    h = await incentive.start(client, worker.task_queue)
    await incentive.reach(h, PayoutStatus.AWAITING_APPLICATION)

    applied = await payout_apply(
        ctx, p.admin, PayoutApplyInput(workflow_id=h.id, method=PayoutMethod.BANK_TRANSFER)
    )
    assert applied.workflow_id == h.id and applied.values["status"] == "AWAITING_INVOICE"
    view = applied.result
    assert isinstance(view, PayoutView)

    wrong = incentive.invoice_for(view, "11111111", invoice_type="vat_ordinary")
    with pytest.raises(RefusedError) as refused:
        await submit_invoice(ctx, p.admin, h.id, wrong)
    assert refused.value.rule == "special_invoice_required"
    fields = incentive.invoice_for(view, "22222222").model_dump()
    done = await payout_invoice(ctx, p.admin, PayoutInvoiceInput(workflow_id=h.id, **fields))
    assert done.values == {"number": "22222222", "remaining": "0.00"}, done.values

    # The partner's side waits for the invoices to be recorded with one update, no polling.
    recorded = await h.execute_update(IncentivePayoutWorkflow.invoices_recorded)
    assert recorded.status == PayoutStatus.AWAITING_APPROVAL
    approved: PayoutView = await payout_update(
        ctx,
        h.id,
        "approve",
        "approve",
        IncentivePayoutWorkflow.approve,
        lambda nonce: Decision(actor=p.finance, nonce=nonce),
    )
    assert approved.status in (PayoutStatus.APPROVED, PayoutStatus.PAID)
    assert (await finished(env, h)).status == PayoutStatus.PAID

    # The workflow has ended: the refusal says what became of the payout, by its rule.
    with pytest.raises(RefusedError) as late:
        await payout_apply(
            ctx, p.admin, PayoutApplyInput(workflow_id=h.id, method=PayoutMethod.VOUCHER)
        )
    assert late.value.rule == "payout_paid" and "cannot apply: payout" in str(late.value)
