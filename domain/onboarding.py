"""Partner onboarding (docs/onboarding.md): payloads, statuses and the pure rules.

Application -> business-info certification (bank micro-deposit; three wrong entries lock it
until ops unlocks) -> review by the ecosystem manager (3 working days) -> agreements (30-day
window) -> final approval -> an ACTIVE partner with its admin user.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.parties import Actor, PartnerType, Role
from domain.reference import Email
from domain.text import N_, MarkedError
from domain.types import DECISION_TIMEOUT, BusinessDuration, BusinessOffset, Name, Text
from domain.uscc import normalize_uscc, uscc_error

_BANK_ACCOUNT = re.compile(r"^\d{8,30}$")


def _uscc(v: str) -> str:
    v = normalize_uscc(v)
    problem = uscc_error(v)
    if problem is not None:
        raise problem
    return v


def _bank_account(v: str) -> str:
    v = v.replace(" ", "").replace("-", "")
    if not _BANK_ACCOUNT.match(v):
        raise MarkedError(N_("a bank account number is 8 to 30 digits"))
    return v


Uscc = Annotated[str, AfterValidator(_uscc)]
BankAccount = Annotated[str, AfterValidator(_bank_account)]


class OnboardingStatus(StrEnum):
    """Where an application stands."""

    SUBMITTED = "SUBMITTED"
    AWAITING_BUSINESS_INFO = "AWAITING_BUSINESS_INFO"
    AWAITING_AMOUNT = "AWAITING_AMOUNT"  # the bank deposit was made; the partner enters it
    BANK_LOCKED = "BANK_LOCKED"  # three wrong entries; ops unlocks
    IN_REVIEW = "IN_REVIEW"  # business-info review by the ecosystem manager
    CHANGES_REQUESTED = "CHANGES_REQUESTED"  # review rejected: edit and resubmit
    AWAITING_SIGNATURES = "AWAITING_SIGNATURES"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # final approval
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


FINAL_STATUSES = frozenset(
    {
        OnboardingStatus.APPROVED,
        OnboardingStatus.REJECTED,
        OnboardingStatus.WITHDRAWN,
        OnboardingStatus.EXPIRED,
    }
)
# The statuses in which the applicant may still withdraw ("while pending").
PENDING_STATUSES = frozenset(OnboardingStatus) - FINAL_STATUSES


class Agreement(StrEnum):
    """The documents the partner signs (the vendor's rule)."""

    PARTNER_AGREEMENT = "partner_agreement"
    INTEGRITY_COMMITMENT = "integrity_commitment"  # 廉洁诚信承诺书


AGREEMENT_TITLES = {
    Agreement.PARTNER_AGREEMENT: "Partner Agreement",
    Agreement.INTEGRITY_COMMITMENT: "Partner Integrity Commitment (廉洁诚信承诺书)",
}


class ApplicationForm(BaseModel):
    """What a company submits to become a partner."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    company_name: Name
    uscc: Uscc
    contact_email: Email
    contact_name: Annotated[Text, Field(max_length=200)] = ""
    partner_type: PartnerType


class WorkCalendar(BaseModel):
    """Working days for due dates: Monday to Friday, minus holidays, plus the weekend days
    that are declared working days (调休), counted in the business time zone."""

    holidays: list[date] = Field(default_factory=list)
    working_weekends: list[date] = Field(default_factory=list)
    utc_offset_hours: int = 8

    def is_working_day(self, d: date) -> bool:
        """True when people work on ``d``."""
        if d in self.holidays:
            return False
        return d.weekday() < 5 or d in self.working_weekends

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` plus ``days`` working days, at the same local time of day.

        A start on a non-working day counts from the next working day's start of day, so a
        ticket filed on Saturday is due at the end of the third working day after it
        (Thursday 00:00 local).
        """
        tz = timezone(timedelta(hours=self.utc_offset_hours))
        local = start.astimezone(tz)
        d = local.date()
        if not self.is_working_day(d):
            while not self.is_working_day(d):
                d += timedelta(days=1)
            local = datetime.combine(d, datetime.min.time(), tzinfo=tz)
        n = 0
        while n < days:
            d += timedelta(days=1)
            if self.is_working_day(d):
                n += 1
        due = datetime.combine(d, local.timetz())
        return due.astimezone(start.tzinfo or UTC)


class OnboardingTiming(BaseModel):
    """Durations and counts of the process (production defaults; the CLI fills them in)."""

    review_working_days: int = Field(
        3, ge=1
    )  # the vendor's rule: tickets are handled in 3 working days
    escalate_after: BusinessDuration = timedelta(days=2)  # PartnerFlow's default
    agreement_window: BusinessDuration = timedelta(days=30)  # PartnerFlow's default
    agreement_reminders: list[BusinessOffset] = Field(
        default_factory=lambda: [timedelta(days=7), timedelta(days=21)]
    )  # PartnerFlow's default: after the window opens
    bank_max_wrong_entries: int = Field(3, ge=1)  # the vendor's rule
    calendar: WorkCalendar = Field(default_factory=WorkCalendar)


class OnboardingRequest(BaseModel):
    """Input of the onboarding workflow."""

    form: ApplicationForm
    submitted_by: Actor
    timing: OnboardingTiming = Field(default_factory=OnboardingTiming)
    # How long a decision may wait for its activities before it is refused (workflows/guard.py).
    decision_timeout: BusinessDuration = DECISION_TIMEOUT


class BusinessInfo(BaseModel):
    """Update payload: the business information to certify (company, tax, bank account)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    actor: Actor
    company_name: Name
    tax_id: Uscc
    registered_address: Annotated[Text, Field(max_length=300)] = ""
    bank_name: Name
    bank_account: BankAccount
    account_holder: Name
    nonce: str | None = None


class AmountEntry(BaseModel):
    """Update payload: the amount the partner found on its bank statement."""

    actor: Actor
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    nonce: str | None = None


class ExistingPartner(BaseModel):
    """A partner account of the same company, shown to the reviewer (not a refusal)."""

    id: str
    company_name: str
    status: str


class OnboardingContext(BaseModel):
    """What the workflow loads at the start."""

    existing_partners: list[ExistingPartner] = Field(default_factory=list)


class OnboardingView(BaseModel):
    """What the ``status`` query and the updates return."""

    workflow_id: str
    uscc: str
    company_name: str
    partner_type: PartnerType
    contact_email: str
    applicant: str
    status: OnboardingStatus
    reason: str | None = None
    existing_partners: list[ExistingPartner] = Field(default_factory=list)
    bank_account: str | None = None  # masked
    bank_wrong_entries: int = 0
    bank_entries_left: int | None = None
    business_certified: bool = False
    review_due_at: datetime | None = None
    escalated: bool = False
    signatures: list[Agreement] = Field(default_factory=list)
    signatures_due_at: datetime | None = None
    approval_due_at: datetime | None = None
    partner_id: str | None = None
    admin_user_id: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


def business_info_problems(info: BusinessInfo, form: ApplicationForm) -> list[str]:
    """The business information must describe the applying company: since 2015 the tax id is
    the USCC, and the bank account must be held in the company's own name (PartnerFlow's default)."""
    out = []
    if info.tax_id != form.uscc:
        out.append(
            f"tax id {info.tax_id} is not the application's unified social credit code "
            f"{form.uscc}; a company's tax id is its USCC"
        )
    if info.account_holder.strip().casefold() != info.company_name.strip().casefold():
        out.append(
            f"the bank account is held by {info.account_holder!r}, not by the company "
            f"{info.company_name!r}; certify an account in the company's own name"
        )
    return out


def bank_locked(wrong_entries: int, max_wrong: int) -> bool:
    """Three wrong entries (by default) lock the certification until ops unlocks it (the vendor's rule)."""
    return wrong_entries >= max_wrong


def mask_account(account: str) -> str:
    """Only the last four digits, for emails and views."""
    return "****" + account[-4:]


def partner_id_for(uscc: str, taken: set[str]) -> str:
    """The new partner account's id: ``P-<USCC>``, numbered for a company's further accounts."""
    base = f"P-{uscc}"
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def admin_user_id_for(partner_id: str) -> str:
    """The id of the admin user created from the application's contact."""
    return f"{partner_id}-admin"


def applicant_party(actor: Actor) -> tuple[Role, str | None]:
    """Who the applicant's tasks are assigned to: its own role and party."""
    return actor.role, actor.partner_id or actor.customer_id
