"""Activity payloads of activities/incentives.py: what its activities take and return (pydantic v2).

They live in domain/ so that workflows, services and activities share them without importing
activity code; class names are not in payloads, so moving them keeps stored histories valid.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.incentives import BillStatus, PayoutStatus
from domain.invoices import (
    InvoiceDetails,
    InvoiceExpectations,
    InvoiceProblem,
)
from domain.parties import PartnerSnapshot, Role
from domain.performance import (
    Statement,
)
from domain.tasks import Bookkeeping


class OpenPayout(BaseModel):
    """Creates the payout row once (the workflow id is its key)."""

    payout_id: str
    partner_id: str
    period: str
    run_id: str
    at: datetime


class PayoutRecord(BaseModel):
    """The payout row as a workflow run finds it."""

    payout_id: str
    run_id: str
    status: PayoutStatus
    amount: Decimal | None = None
    method: str | None = None
    payment_reference: str | None = None


class PayoutUpdate(BaseModel):
    """Changes the payout row; fields left None are left as they are."""

    payout_id: str
    status: PayoutStatus
    at: datetime
    amount: Decimal | None = None
    carried_out: Decimal | None = None
    statement: Statement | None = None
    method: str | None = None
    applied_by: str | None = None
    notified_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    payment_reference: str | None = None
    paid_at: datetime | None = None
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None


class PartnerMonth(BaseModel):
    """A partner and a month."""

    partner_id: str
    period: str


class IncentiveFacts(BaseModel):
    """What the payout needs to start: the partner, its statement, its bill status."""

    partner: PartnerSnapshot
    statement: Statement
    bill: BillStatus


class PartnerQuery(BaseModel):
    """One partner."""

    partner_id: str


class StaffQuery(BaseModel):
    """The vendor's active staff of one role (finance, ops)."""

    role: Role


class Contact(BaseModel):
    """Someone to email."""

    user_id: str
    email: str


class Contacts(BaseModel):
    """People to email."""

    contacts: list[Contact] = Field(default_factory=list)


class RecordInvoice(BaseModel):
    """Verifies an invoice against the payout and records it when every rule passes."""

    invoice: InvoiceDetails
    expectations: InvoiceExpectations
    submitted_by: str
    at: datetime


class InvoiceOutcome(BaseModel):
    """Accepted (recorded), or the problems found."""

    accepted: bool
    problems: list[InvoiceProblem] = Field(default_factory=list)


class IssueVoucher(BaseModel):
    """Issues the payout as a voucher, once per key."""

    key: str
    payout_id: str
    partner_id: str
    amount: Decimal
    at: datetime


class VoucherRef(BaseModel):
    """The issued voucher."""

    key: str
    voucher_code: str
    amount: Decimal
    issued_at: datetime


class CreditRecharge(BaseModel):
    """Credits the payout to the partner's recharge account, once per key."""

    key: str
    payout_id: str
    partner_id: str
    amount: Decimal
    at: datetime


class CreditRef(BaseModel):
    """The recorded credit."""

    key: str
    credit_id: int
    amount: Decimal
    credited_at: datetime


class PartnerPage(BaseModel):
    """A page of ACTIVE partner ids, in id order, after ``after``."""

    after: str | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class PartnerIds(BaseModel):
    """One page of partner ids; ``next_after`` is None on the last page."""

    ids: list[str]
    next_after: str | None = None
