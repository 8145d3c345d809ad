"""Activity payloads of activities/onboarding.py: what its activities take and return (pydantic v2).

They live in domain/ so that workflows, services and activities share them without importing
activity code; class names are not in payloads, so moving them keeps stored histories valid.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.certification import (
    DevelopmentPath,
)
from domain.onboarding import (
    Agreement,
    ApplicationForm,
    OnboardingStatus,
)
from domain.parties import Actor, Role
from domain.tasks import Bookkeeping


class LoadOnboardingContext(BaseModel):
    """Which company to look up."""

    uscc: str


class RecordApplication(BaseModel):
    """Writes (once) or updates the row of one application run."""

    run_key: str
    workflow_id: str
    form: ApplicationForm
    submitted_by: Actor
    status: OnboardingStatus
    at: datetime
    reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    business_certified_at: datetime | None = None
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None


class RecordBusinessInfo(BaseModel):
    """The business information submitted for certification (latest submission wins)."""

    application_key: str
    company_name: str
    tax_id: str
    registered_address: str = ""
    bank_name: str
    bank_account: str
    account_holder: str
    at: datetime
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None


class StartDeposit(BaseModel):
    """Makes the micro-deposit into the account under certification (once per key)."""

    key: str
    application_key: str
    bank_name: str
    bank_account: str
    account_holder: str
    at: datetime


class DepositRef(BaseModel):
    """The deposit made (without its amount)."""

    verification_key: str
    masked_account: str
    bank_reference: str


class CheckAmount(BaseModel):
    """Compares one entered amount with the deposit (once per entry key)."""

    key: str
    verification_key: str
    amount: Decimal
    entered_by: str
    at: datetime
    max_wrong_entries: int


class AmountCheck(BaseModel):
    """The outcome of one entry."""

    matched: bool
    wrong_entries: int
    locked: bool


class UnlockBank(BaseModel):
    """Ops unlocks a locked verification."""

    verification_key: str
    by: str
    at: datetime


class RecordSignature(BaseModel):
    """One signed agreement (once per application and agreement)."""

    application_key: str
    agreement: Agreement
    signed_by: str
    at: datetime
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None


class ActivatePartner(BaseModel):
    """Creates the ACTIVE partner and its admin user from the application (once)."""

    application_key: str
    at: datetime
    decided_by: str


class Activation(BaseModel):
    """The partner account and admin user created."""

    partner_id: str
    admin_user_id: str


class ReleaseApplicant(BaseModel):
    """Clears the 'applying to be a partner' flag this application set, if it set it."""

    application_key: str


class RoleRecipients(BaseModel):
    """Which role's people to email."""

    role: Role


class Recipient(BaseModel):
    """A person to email, with the user id their action links are signed for."""

    user_id: str
    email: str
    name: str = ""


class Recipients(BaseModel):
    """Everyone with the role (active users)."""

    people: list[Recipient] = Field(default_factory=list)


class LoadPathContext(BaseModel):
    """Which partner and path to load."""

    partner_id: str
    path: DevelopmentPath


class JoinPath(BaseModel):
    """The partner chooses the path: company rules re-checked and the membership written."""

    key: str
    workflow_id: str
    partner_id: str
    path: DevelopmentPath
    at: datetime


class JoinOutcome(BaseModel):
    """joined, pending_approval (another account of the company has the software path), or
    refused (the service path is taken in the company)."""

    status: str
    others_on_path: list[str] = Field(default_factory=list)
    reason: str | None = None


class UpdateMembership(BaseModel):
    """Moves a membership on (joined after approval, rejected, left, completed)."""

    key: str
    status: str
    at: datetime
    decided_by: str | None = None
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None


class LoadFacts(BaseModel):
    """Whose certification facts to load."""

    partner_id: str


class RecordCertification(BaseModel):
    """Writes (once) or updates a certification request."""

    key: str
    workflow_id: str
    partner_id: str
    path: DevelopmentPath
    level: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None
