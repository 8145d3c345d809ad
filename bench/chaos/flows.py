"""The two longer cases of the chaos run, step by step as the benchmark's drivers take them
(``bench/drivers_more.py``), through ``bench.chaos.ops`` so that each step rides out faults:
a payout by bank transfer with its invoice and finance's approval, and an onboarding from
application to ACTIVE partner."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from temporalio.client import Client

from bench.chaos import ops
from bench.chaos.procs import TASK_QUEUE
from bench.drivers import Sessions
from bench.drivers_more import (
    PERIOD,
    VENDOR_TAX_ID,
    VENDOR_TITLE,
    IncentiveDriver,
    OnboardingDriver,
    _invoice,
    uscc,
)
from domain.incentives import (
    IncentiveRequest,
    InvoiceSubmission,
    PayoutApplication,
    PayoutMethod,
    PayoutStatus,
    payout_workflow_id,
)
from domain.onboarding import (
    AmountEntry,
    ApplicationForm,
    BusinessInfo,
    OnboardingRequest,
    OnboardingStatus,
    OnboardingView,
)
from domain.parties import Actor, Decision, PartnerType, Role
from infra.tables import BankVerification
from infra.temporal import index_attributes
from workflows.incentive import IncentivePayoutWorkflow
from workflows.onboarding import OnboardingWorkflow

OS = OnboardingStatus


async def payout_paid(d: IncentiveDriver, client: Client, i: int) -> tuple[str, str]:
    """Partner PP-i's payout: apply (bank transfer), one invoice, finance approves, PAID."""
    assert d.finance is not None
    pid = f"PP-{i}"
    admin = Actor(
        user_id=f"pa-pp-{i}",
        role=Role.PARTNER_ADMIN,
        name=f"pa-pp-{i}",
        email=f"pa-pp-{i}@users.bench",
        partner_id=pid,
    )
    req = IncentiveRequest(
        partner_id=pid,
        period=PERIOD,
        started_by="ops-bench",
        vendor_invoice_title=VENDOR_TITLE,
        vendor_tax_id=VENDOR_TAX_ID,
    )
    # Started and past its statement in one call (update-with-start), no status polling.
    h, first = await ops.start_checked(
        client,
        IncentivePayoutWorkflow.run,
        req,
        IncentivePayoutWorkflow.checked,
        id=payout_workflow_id(pid, PERIOD),
        task_queue=TASK_QUEUE,
        search_attributes=index_attributes(partner_id=pid),
    )
    if first.status != PayoutStatus.AWAITING_APPLICATION:  # e.g. FROZEN a moment: not seeded
        await ops.poll(
            h,
            IncentivePayoutWorkflow.status,
            lambda v: v.status == PayoutStatus.AWAITING_APPLICATION,
        )
    view = await ops.decide(
        h,
        IncentivePayoutWorkflow.apply,
        PayoutApplication(actor=admin, method=PayoutMethod.BANK_TRANSFER),
    )
    checked = await ops.decide(
        h,
        IncentivePayoutWorkflow.submit_invoice,
        InvoiceSubmission(actor=admin, invoice=_invoice(req, view, f"{10_000_000 + i}")),
    )
    if not checked.accepted:
        raise ops.StuckError(f"{h.id}: invoice refused: {checked.problems}")
    # The last invoice is in: finance may decide once it is recorded (one update, no polling).
    recorded = await ops.decide(h, IncentivePayoutWorkflow.invoices_recorded)
    if recorded.status != PayoutStatus.AWAITING_APPROVAL:
        raise ops.StuckError(f"{h.id}: after its invoices the payout is {recorded.status}")
    await ops.decide(h, IncentivePayoutWorkflow.approve, Decision(actor=d.finance))
    result = await ops.result(h)
    return h.id, str(result.status)


async def onboarding_approved(
    d: OnboardingDriver, client: Client, sessions: Sessions, i: int
) -> tuple[str, str]:
    """Apply, certify the bank account, review, sign both agreements, approve: APPROVED."""
    assert d.manager is not None
    manager = d.manager
    code = uscc("9144", i)
    applicant = Actor(user_id=f"CO-{i}", role=Role.CUSTOMER, customer_id=f"CO-{i}")
    name = f"Applicant {i} Cloud Ltd."
    req = OnboardingRequest(
        form=ApplicationForm(
            company_name=name,
            uscc=code,
            contact_email=f"co-{i}@cust.bench",
            contact_name="Zhang San",
            partner_type=PartnerType.SOLUTION_PROVIDER,
        ),
        submitted_by=applicant,
    )
    # Started and registered in one call (update-with-start); then each step goes on from the
    # answer of the update before it, no status polling.
    h, first = await ops.start_checked(
        client,
        OnboardingWorkflow.run,
        req,
        OnboardingWorkflow.checked,
        id=f"onboarding-{code}",
        task_queue=TASK_QUEUE,
    )

    async def reach(view: OnboardingView, status: OnboardingStatus) -> None:
        # The answer names the state the step led to; only another one (never seen) is polled.
        if view.status != status:
            await ops.poll(h, OnboardingWorkflow.status, lambda v: v.status == status, status)

    def decision(actor: Actor) -> Decision:
        return Decision(actor=actor, nonce=uuid.uuid4().hex)

    await reach(first, OS.AWAITING_BUSINESS_INFO)
    info = BusinessInfo(
        actor=applicant,
        company_name=name,
        tax_id=code,
        bank_name="ICBC Shenzhen",
        bank_account="6222000012345678",
        account_holder=name,
    )
    await reach(
        await ops.decide(h, OnboardingWorkflow.submit_business_info, info), OS.AWAITING_AMOUNT
    )
    async with sessions() as s:
        amount = await s.scalar(
            select(BankVerification.amount)
            .where(BankVerification.application_key.startswith(h.id))
            .order_by(BankVerification.id.desc())
        )
    if amount is None:
        raise ops.StuckError(f"{h.id}: no bank deposit recorded")
    entry = AmountEntry(actor=applicant, amount=amount)
    await reach(await ops.decide(h, OnboardingWorkflow.enter_amount, entry), OS.IN_REVIEW)
    view = await ops.decide(h, OnboardingWorkflow.review_approve, decision(manager))
    await reach(view, OS.AWAITING_SIGNATURES)
    await ops.decide(h, OnboardingWorkflow.sign_partner_agreement, decision(applicant))
    view = await ops.decide(h, OnboardingWorkflow.sign_integrity_commitment, decision(applicant))
    await reach(view, OS.AWAITING_APPROVAL)
    await ops.decide(h, OnboardingWorkflow.approve, decision(manager))
    result = await ops.result(h)
    return h.id, str(result.status)
