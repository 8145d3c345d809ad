"""Onboarding tables: applications, bank verification, agreements, development paths,
certifications, and the facts certification reads (staff certificates, cloud service cases)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, Money, UTCDateTime

# A membership in one of these statuses occupies the path for the company / the partner.
ACTIVE_MEMBERSHIP_STATUSES = ("pending_approval", "joined", "completed")
ACTIVE_MEMBERSHIP = "status IN (" + ", ".join(f"'{s}'" for s in ACTIVE_MEMBERSHIP_STATUSES) + ")"


class OnboardingApplication(Base):
    """One run of the onboarding workflow (a new application after a final outcome is a new
    row); the reviewer's and the auditor's record of what was submitted and decided."""

    __tablename__ = "onboarding_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(200), unique=True)  # workflow id + run id
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    company_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254))
    partner_type: Mapped[str] = mapped_column(String(32))
    submitted_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    tax_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    registered_address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    bank_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bank_account: Mapped[str | None] = mapped_column(String(30), nullable=True)
    account_holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    business_certified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    partner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    admin_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A customer account applying is flagged "applying to be a partner" while it applies;
    # we remember whether we set the flag so that only we clear it.
    applicant_customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    applicant_flag_set: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BankVerification(Base):
    """One micro-deposit to the account under certification; the amount never leaves the
    database (the workflow history does not hold it)."""

    __tablename__ = "bank_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    application_key: Mapped[str] = mapped_column(String(200), index=True)
    bank_name: Mapped[str] = mapped_column(String(200))
    bank_account: Mapped[str] = mapped_column(String(30))
    account_holder: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    bank_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # pending | verified | locked
    status: Mapped[str] = mapped_column(String(16), default="pending")
    wrong_entries: Mapped[int] = mapped_column(Integer, default=0)
    deposited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unlocked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BankVerificationAttempt(Base):
    """One amount the partner entered (right or wrong)."""

    __tablename__ = "bank_verification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    verification_id: Mapped[int] = mapped_column(ForeignKey("bank_verifications.id"), index=True)
    entered: Mapped[Decimal] = mapped_column(Money)
    matched: Mapped[bool] = mapped_column(Boolean)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgreementSignature(Base):
    """A signed agreement (partner agreement, integrity commitment) of one application."""

    __tablename__ = "agreement_signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    application_key: Mapped[str] = mapped_column(String(200), index=True)
    agreement: Mapped[str] = mapped_column(String(32))
    signed_by: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PathMembership(Base):
    """A partner account on a development path."""

    __tablename__ = "path_memberships"
    __table_args__ = (
        # The service path is chosen once per company (the vendor's rule): the database refuses a second.
        Index(
            "uq_path_memberships_service_once_per_company",
            "uscc",
            unique=True,
            sqlite_where=text(f"path = 'service' AND {ACTIVE_MEMBERSHIP}"),
            postgresql_where=text(f"path = 'service' AND {ACTIVE_MEMBERSHIP}"),
        ),
        Index(
            "uq_path_memberships_one_per_partner_path",
            "partner_id",
            "path",
            unique=True,
            sqlite_where=text(ACTIVE_MEMBERSHIP),
            postgresql_where=text(ACTIVE_MEMBERSHIP),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    path: Mapped[str] = mapped_column(String(16))  # software | service
    # pending_approval | joined | completed | left | rejected
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PathCertification(Base):
    """A certification request on a path and its outcome."""

    __tablename__ = "path_certifications"
    __table_args__ = (
        Index(
            "uq_path_certifications_once",
            "partner_id",
            "path",
            "level",
            unique=True,
            sqlite_where=text("status = 'certified'"),
            postgresql_where=text("status = 'certified'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    path: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(20))  # role | differentiation
    # pending | certified | rejected | withdrawn
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class StaffCertificateRow(Base):
    """An individual certificate on a staff member's personal account (recorded by ops)."""

    __tablename__ = "staff_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    holder: Mapped[str] = mapped_column(String(64))  # personal account id
    holder_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(8))  # HCSA | HCSP | HCIA | HCIP
    number: Mapped[str] = mapped_column(String(64), unique=True)
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CloudServiceCase(Base):
    """A cloud service case the partner delivered (recorded by ops)."""

    __tablename__ = "cloud_service_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    completed_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
