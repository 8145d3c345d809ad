"""Drivers for the longer workflows: an incentive payout by bank transfer with its invoice and
finance's approval, and a partner onboarding from application to ACTIVE partner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle

from bench.drivers import Sessions, StuckError, add_in_layers, decide, partner, poll, user
from domain.incentives import (
    IncentiveRequest,
    InvoiceSubmission,
    PayoutApplication,
    PayoutMethod,
    PayoutStatus,
    PayoutView,
    payout_workflow_id,
)
from domain.invoices import InvoiceDetails
from domain.onboarding import (
    AmountEntry,
    ApplicationForm,
    BusinessInfo,
    OnboardingRequest,
    OnboardingStatus,
)
from domain.parties import Actor, Decision, PartnerType, Role
from domain.uscc import check_character
from infra.tables import (
    BankVerification,
    Binding,
    ConsumptionLineRow,
    Customer,
    PartnerBillStatus,
)
from infra.temporal import index_attributes
from workflows.incentive import IncentivePayoutWorkflow
from workflows.onboarding import OnboardingWorkflow

PERIOD = "2026-10"
VENDOR_TITLE = "Huawei Cloud Computing Technologies Co., Ltd."
VENDOR_TAX_ID = "91520900MA6J6CBN9Q"
P = PayoutStatus
OS = OnboardingStatus


def uscc(prefix: str, i: int) -> str:
    """A valid unified social credit code, distinct for each ``i``."""
    body = f"{prefix}{i:013d}"
    return body + check_character(body)


def _invoice(req: IncentiveRequest, view: PayoutView, number: str) -> InvoiceDetails:
    """A correct VAT special invoice for the whole payout, from its invoice list."""
    il = view.invoice_list
    assert il is not None and view.notified_at is not None
    tax = (il.amount * Decimal("6") / Decimal("106")).quantize(Decimal("0.01"))
    return InvoiceDetails(
        invoice_number=number,
        invoice_type="vat_special",
        buyer_title=il.buyer_title,
        buyer_tax_id=il.buyer_tax_id,
        seller_name=il.seller_name,
        seller_tax_id=il.seller_tax_id,
        amount_excl_tax=il.amount - tax,
        tax_amount=tax,
        total=il.amount,
        issued_on=req.business_date(view.notified_at),
    )


@dataclass
class IncentiveDriver:
    """Partner PP-i's October payout: statement, apply (bank transfer), one invoice, finance
    approves, paid through the fake gateway."""

    name: str = "incentive"
    polls: bool = True
    finance: Actor | None = None

    async def seed(self, sessions: Sessions, count: int) -> None:
        """Partners PP-i with an admin, a bound customer, consumption and a paid bill."""
        fin_row, self.finance = user("fin-bench", Role.FINANCE)
        ops_row, _ = user("ops-bench", Role.OPS)
        partners: list[Any] = []
        parties: list[Any] = [fin_row, ops_row]
        facts: list[Any] = []
        for i in range(count):
            pid, cid = f"PP-{i}", f"CP-{i}"
            partners.append(partner(pid, uscc="91330106MA2H0XPF0Y"))
            parties.append(user(f"pa-pp-{i}", Role.PARTNER_ADMIN, pid)[0])
            parties.append(Customer(id=cid, name=f"Customer {i}", email=f"cp-{i}@cust.bench"))
            facts.append(
                Binding(
                    idempotency_key=f"bench:{pid}:{cid}",
                    partner_id=pid,
                    customer_id=cid,
                    mode="resale",
                    status="active",
                    created_by="bench",
                    started_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
            lines = [
                ("20000.00", "cash", "china"),
                ("10000.00", "stored_value_card_spend", "overseas"),
            ]
            facts += [
                ConsumptionLineRow(
                    line_id=f"{pid}-L{n}",
                    customer_id=cid,
                    consumed_on=date(2026, 10, 10 + n),
                    amount=Decimal(amount),
                    payment_kind=kind,
                    site=site,
                    product_line="cloud_service",
                )
                for n, (amount, kind, site) in enumerate(lines)
            ]
            facts.append(
                PartnerBillStatus(
                    partner_id=pid, period=PERIOD, all_paid=True, paid_on=date(2026, 10, 28)
                )
            )
        await add_in_layers(sessions, partners, parties, facts)

    async def run_one(
        self, client: Client, sessions: Sessions, task_queue: str, i: int
    ) -> WorkflowHandle[Any, Any]:
        """Start, apply, invoice, approve, wait for PAID."""
        assert self.finance is not None
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
        h = await client.start_workflow(
            IncentivePayoutWorkflow.run,
            req,
            id=payout_workflow_id(pid, PERIOD),
            task_queue=task_queue,
            search_attributes=index_attributes(partner_id=pid),
        )
        status = IncentivePayoutWorkflow.status
        await poll(lambda: h.query(status), lambda v: v.status == P.AWAITING_APPLICATION, h.id)
        view = await decide(
            h,
            IncentivePayoutWorkflow.apply,
            PayoutApplication(actor=admin, method=PayoutMethod.BANK_TRANSFER),
        )
        checked = await decide(
            h,
            IncentivePayoutWorkflow.submit_invoice,
            InvoiceSubmission(actor=admin, invoice=_invoice(req, view, f"{10_000_000 + i}")),
        )
        if not checked.accepted:
            raise StuckError(f"{h.id}: invoice refused: {checked.problems}")
        await poll(lambda: h.query(status), lambda v: v.status == P.AWAITING_APPROVAL, h.id)
        await decide(h, IncentivePayoutWorkflow.approve, Decision(actor=self.finance))
        result = await h.result()
        if result.status != P.PAID:
            raise StuckError(f"{h.id} ended {result.status}: {result.reason}")
        return h


@dataclass
class OnboardingDriver:
    """Company i applies, certifies its bank account with the deposited amount, passes review,
    signs both agreements and is approved: an ACTIVE partner with its admin user."""

    name: str = "onboarding"
    polls: bool = True
    manager: Actor | None = None

    async def seed(self, sessions: Sessions, count: int) -> None:
        """An ecosystem manager, and applicant customers CO-i."""
        row, self.manager = user("em-bench", Role.ECOSYSTEM_MANAGER)
        applicants = [
            Customer(id=f"CO-{i}", name=f"Applicant {i}", email=f"co-{i}@cust.bench")
            for i in range(count)
        ]
        await add_in_layers(sessions, [row, *applicants])

    async def run_one(
        self, client: Client, sessions: Sessions, task_queue: str, i: int
    ) -> WorkflowHandle[Any, Any]:
        """Apply, certify, review, sign, approve, wait for APPROVED."""
        assert self.manager is not None
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
        h = await client.start_workflow(
            OnboardingWorkflow.run, req, id=f"onboarding-{code}", task_queue=task_queue
        )

        async def reach(status: OnboardingStatus) -> None:
            await poll(
                lambda: h.query(OnboardingWorkflow.status), lambda v: v.status == status, h.id
            )

        def decision(actor: Actor) -> Decision:
            return Decision(actor=actor, nonce=uuid.uuid4().hex)

        await reach(OS.AWAITING_BUSINESS_INFO)
        info = BusinessInfo(
            actor=applicant,
            company_name=name,
            tax_id=code,
            bank_name="ICBC Shenzhen",
            bank_account="6222000012345678",
            account_holder=name,
        )
        await decide(h, OnboardingWorkflow.submit_business_info, info)
        async with sessions() as s:
            amount = await s.scalar(
                select(BankVerification.amount)
                .where(BankVerification.application_key.startswith(h.id))
                .order_by(BankVerification.id.desc())
            )
        if amount is None:
            raise StuckError(f"{h.id}: no bank deposit recorded")
        await decide(
            h, OnboardingWorkflow.enter_amount, AmountEntry(actor=applicant, amount=amount)
        )
        await reach(OS.IN_REVIEW)
        await decide(h, OnboardingWorkflow.review_approve, decision(self.manager))
        await reach(OS.AWAITING_SIGNATURES)
        await decide(h, OnboardingWorkflow.sign_partner_agreement, decision(applicant))
        await decide(h, OnboardingWorkflow.sign_integrity_commitment, decision(applicant))
        await reach(OS.AWAITING_APPROVAL)
        await decide(h, OnboardingWorkflow.approve, decision(self.manager))
        result = await h.result()
        if result.status != OS.APPROVED:
            raise StuckError(f"{h.id} ended {result.status}")
        return h
