"""Incentive payout (激励发放): statuses, payloads and the pure rules of docs/incentives.md that are
not the performance calculation (``domain.performance``) or invoice verification
(``domain.invoices``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from domain.invoices import InvoiceDetails, InvoiceProblem
from domain.parties import Actor, PartnerSnapshot, PartnerStatus, Role
from domain.performance import ZERO, Statement
from domain.text import N_, MarkedError
from domain.types import DECISION_TIMEOUT, BusinessDuration, BusinessOffset

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _period(v: str) -> str:
    if not _PERIOD.match(v):
        raise MarkedError(N_("a period is a month written YYYY-MM, e.g. 2026-10"))
    return v


Period = Annotated[str, AfterValidator(_period)]


def period_bounds(period: str) -> tuple[date, date]:
    """First day of the month, and first day of the next month (excluded)."""
    m = _PERIOD.match(period)
    if m is None:
        raise ValueError(f"{period!r} is not a period (YYYY-MM)")
    year, month = int(m.group(1)), int(m.group(2))
    start = date(year, month, 1)
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return start, end


def previous_period(day: date) -> str:
    """The month before the one ``day`` falls in: the month that is reconciled on ``day``."""
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}"


def payout_workflow_id(partner_id: str, period: str) -> str:
    """The business key: one payout per partner and month."""
    return f"incentive-{partner_id}-{period}"


class PayoutMethod(StrEnum):
    """How the partner takes its incentive (the vendor's rule)."""

    VOUCHER = "voucher"  # no invoice
    BANK_TRANSFER = "bank_transfer"  # cash back; invoice required
    RECHARGE_ACCOUNT = "recharge_account"  # credit to the partner's recharge account; invoice


INVOICE_METHODS = frozenset({PayoutMethod.BANK_TRANSFER, PayoutMethod.RECHARGE_ACCOUNT})


class PayoutStatus(StrEnum):
    """Lifecycle of one payout."""

    CALCULATING = "CALCULATING"
    FROZEN = "FROZEN"  # a bill of the partner's cycle is unpaid (the vendor's rule)
    NO_INCENTIVE = "NO_INCENTIVE"  # nothing to pay this month; closed with a notice
    AWAITING_APPLICATION = "AWAITING_APPLICATION"  # statement sent; the partner chooses a method
    HELD = "HELD"  # business-info certification missing (the vendor's rule)
    AWAITING_INVOICE = "AWAITING_INVOICE"  # invoice notification sent
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # invoices complete; finance decides
    APPROVED = "APPROVED"  # paying
    PAID = "PAID"
    REJECTED = "REJECTED"  # finance rejected, with the reason
    EXPIRED = "EXPIRED"  # the application or invoice window lapsed
    ALREADY_SETTLED = "ALREADY_SETTLED"  # a later run found the payout settled by an earlier one


FINAL_STATUSES = frozenset(
    {
        PayoutStatus.NO_INCENTIVE,
        PayoutStatus.PAID,
        PayoutStatus.REJECTED,
        PayoutStatus.EXPIRED,
        PayoutStatus.ALREADY_SETTLED,
    }
)


class IncentiveRequest(BaseModel):
    """Input of the payout workflow. Durations default to production values (docs/incentives.md)."""

    partner_id: str
    period: Period
    started_by: str = "schedule"
    # The vendor's invoice information at the start: one valid title at a time (the vendor's rule).
    vendor_invoice_title: str
    vendor_tax_id: str
    application_window: BusinessDuration = timedelta(days=365)
    application_reminder_after: BusinessOffset = timedelta(days=30)
    invoice_window: BusinessDuration = timedelta(days=60)  # PartnerFlow's default
    # Reminders this long before the invoice window lapses (PartnerFlow's default).
    invoice_reminders_before: list[BusinessOffset] = Field(
        default_factory=lambda: [timedelta(days=30), timedelta(days=7)]
    )
    approval_reminder_after: BusinessOffset = timedelta(days=3)
    # While FROZEN or HELD the facts are re-read this often, in case a signal was missed.
    recheck_every: BusinessDuration = timedelta(days=1)
    # The business day is China's (UTC+8): invoice dates and "the day after payment" use it.
    business_utc_offset: timedelta = timedelta(hours=8)
    # How long a decision may wait for its activities before it is refused (workflows/guard.py).
    decision_timeout: BusinessDuration = DECISION_TIMEOUT

    def business_date(self, at: datetime) -> date:
        """The calendar day ``at`` falls on in the business time zone."""
        return (at + self.business_utc_offset).date()


class PayoutDefaults(BaseModel):
    """The part of ``IncentiveRequest`` that comes from settings (used by the monthly run)."""

    vendor_invoice_title: str
    vendor_tax_id: str
    application_window: BusinessDuration = timedelta(days=365)
    application_reminder_after: BusinessOffset = timedelta(days=30)
    invoice_window: BusinessDuration = timedelta(days=60)
    invoice_reminders_before: list[BusinessOffset] = Field(
        default_factory=lambda: [timedelta(days=30), timedelta(days=7)]
    )
    approval_reminder_after: BusinessOffset = timedelta(days=3)
    recheck_every: BusinessDuration = timedelta(days=1)
    business_utc_offset: timedelta = timedelta(hours=8)

    def request(self, partner_id: str, period: str, started_by: str) -> IncentiveRequest:
        """The payout request of one partner and month."""
        return IncentiveRequest(
            partner_id=partner_id, period=period, started_by=started_by, **self.model_dump()
        )


class BillStatus(BaseModel):
    """Whether every bill of the partner's cycle is paid (from the bill-status import)."""

    known: bool = False
    all_paid: bool = False
    paid_on: date | None = None


class PayoutApplication(BaseModel):
    """Update payload: the partner admin applies for the payout with a method."""

    actor: Actor
    method: PayoutMethod
    nonce: str | None = None


class InvoiceSubmission(BaseModel):
    """Update payload: the details of one invoice the partner issued."""

    actor: Actor
    invoice: InvoiceDetails
    nonce: str | None = None


class CertificationRecorded(BaseModel):
    """Signal: the partner's business-info certification was recorded."""

    partner_id: str
    recorded_by: str = "ops"


class BillPaid(BaseModel):
    """Signal: the bill-status import shows the partner's cycle paid."""

    paid_on: date | None = None


class AcceptedInvoice(BaseModel):
    """An invoice accepted for the payout."""

    invoice_number: str
    total: Decimal
    issued_on: date
    submitted_by: str


class InvoiceListItem(BaseModel):
    """The invoice list (开票清单) of the invoice notification."""

    payout_id: str
    amount: Decimal
    buyer_title: str
    buyer_tax_id: str
    invoice_type: str = "vat_special"
    seller_name: str
    seller_tax_id: str


class InvoiceVerification(BaseModel):
    """The answer to an invoice submission."""

    invoice_number: str
    accepted: bool
    problems: list[InvoiceProblem] = Field(default_factory=list)
    invoiced: Decimal = ZERO  # accepted so far, tax included
    remaining: Decimal = ZERO
    status: PayoutStatus


class PayoutView(BaseModel):
    """What the ``status`` query and the updates return."""

    workflow_id: str
    partner_id: str
    period: str
    status: PayoutStatus
    reason: str | None = None
    amount: Decimal | None = None
    statement: Statement | None = None
    method: PayoutMethod | None = None
    applied_by: str | None = None
    applied_at: datetime | None = None
    release_at: datetime | None = None
    invoice_list: InvoiceListItem | None = None
    notified_at: datetime | None = None
    invoice_due_at: datetime | None = None
    invoices: list[AcceptedInvoice] = Field(default_factory=list)
    invoiced: Decimal = ZERO
    remaining: Decimal | None = None
    last_verification: InvoiceVerification | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    payment_reference: str | None = None
    paid_at: datetime | None = None


def release_time(
    bill: BillStatus, now: datetime, utc_offset: timedelta = timedelta(0)
) -> datetime | None:
    """When a frozen incentive is released: the day after payment (the vendor's rule), at 00:00 of the
    business day (``utc_offset`` from UTC).

    None while a bill is unpaid (or the bill status is unknown: money is not paid out on a
    cycle nobody has confirmed as paid).
    """
    if not (bill.known and bill.all_paid):
        return None
    if bill.paid_on is None:
        return now
    return datetime.combine(bill.paid_on + timedelta(days=1), time(0), tzinfo=UTC) - utc_offset


def frozen_reason(period: str, bill: BillStatus) -> str:
    """Why the month's incentive is frozen, and what releases it."""
    if not bill.known:
        return (
            f"no bill status has been imported for {period}: the incentive stays frozen until "
            "the bill-status import shows every bill of the cycle paid"
        )
    return (
        f"a bill of the {period} cycle is unpaid: the incentive is frozen and is released the "
        "day after the bills are paid"
    )


def apply_refusal(actor: Actor, partner_id: str) -> str | None:
    """Only the partner's admin applies for its payout."""
    if actor.role == Role.PARTNER_ADMIN and actor.partner_id == partner_id:
        return None
    return (
        f"{actor.describe()} may not act on the payout of partner {partner_id}: only that "
        "partner's administrator (partner_admin) may apply for it and submit its invoices"
    )


def finance_refusal(actor: Actor) -> str | None:
    """Only finance approves or rejects payouts."""
    if actor.role == Role.FINANCE:
        return None
    return f"{actor.describe()} may not approve or reject payouts: only finance may"


def held_reason(partner: PartnerSnapshot) -> str | None:
    """Why an invoice payout is held: no business-info certification yet (the vendor's rule)."""
    if partner.business_certified:
        return None
    return (
        f"partner {partner.id} has not completed business-info certification (company, tax "
        "and bank account): the invoice list is available only after it is complete. Complete "
        "the certification; the payout then continues by itself"
    )


def start_refusal(
    partner: PartnerSnapshot | None, partner_id: str, period: str, today: date
) -> str | None:
    """Who can have a payout started, and for which month (the starters' pre-check)."""
    if partner is None:
        return f"no partner with id {partner_id!r}"
    if partner.status not in (PartnerStatus.ACTIVE, PartnerStatus.EXITED):
        return (
            f"partner {partner_id} is {partner.status.value}: only ACTIVE partners (and, for "
            "their last incentives, EXITED ones) are paid"
        )
    _, end = period_bounds(period)
    if end > today:
        return f"{period} has not ended yet: a month is reconciled after it ends"
    return None


class MonthlyRunRequest(BaseModel):
    """Input of the monthly run that starts every ACTIVE partner's payout for a month."""

    defaults: PayoutDefaults
    # None: the month before the one the schedule fired in.
    period: Period | None = None
    # Index the payouts by PartnerId (the server has PartnerFlow's search attributes).
    index_partners: bool = True
    page_size: int = Field(default=200, ge=1, le=1000)
    # Continue-as-new state: the last partner id handled and the counts so far.
    after: str | None = None
    started: int = 0
    already_running: int = 0


class MonthlyRunResult(BaseModel):
    """What the monthly run did."""

    period: str
    started: int
    already_running: int
