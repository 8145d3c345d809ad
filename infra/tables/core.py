"""Shared tables: partners, users, customers, bindings, invitations, tasks, audit, outbox."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, Money, UTCDateTime


class Partner(Base):
    """A partner account (a company may own several)."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    contact_email: Mapped[str] = mapped_column(String(254))
    type: Mapped[str] = mapped_column(
        String(32)
    )  # solution_provider | cloud_reseller | distributor
    status: Mapped[str] = mapped_column(
        String(16), default="ACTIVE"
    )  # PENDING|ACTIVE|SUSPENDED|EXITED
    business_certified: Mapped[bool] = mapped_column(Boolean, default=False)
    consulting_permission: Mapped[bool] = mapped_column(Boolean, default=False)
    distributor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    certified_solutions: Mapped[int] = mapped_column(Integer, default=0)
    advanced_solutions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # zh-CN | en; NULL: the site default (PARTNERFLOW_DEFAULT_LOCALE). Emails go in this language.
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # An IANA zone for times in emails; NULL: Asia/Shanghai for zh-CN, UTC for en.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)


class User(Base):
    """A person who acts: vendor staff (no party), partner users, customer users."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    # ops | ecosystem_manager | finance | partner_admin | partner_staff | customer
    role: Mapped[str] = mapped_column(String(32))
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id"), nullable=True, index=True
    )
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # zh-CN | en; NULL: the site default (PARTNERFLOW_DEFAULT_LOCALE). Emails go in this language.
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # An IANA zone for times in emails; NULL: Asia/Shanghai for zh-CN, UTC for en.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Customer(Base):
    """A customer account with the facts the binding and unbinding rules read."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    has_credit_account: Mapped[bool] = mapped_column(Boolean, default=False)
    is_partner_or_applicant: Mapped[bool] = mapped_column(Boolean, default=False)
    has_special_contract: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_by_direct_sales: Mapped[bool] = mapped_column(Boolean, default=False)
    in_reward_programme: Mapped[bool] = mapped_column(Boolean, default=False)
    # none | master | member
    enterprise_role: Mapped[str] = mapped_column(String(16), default="none")
    enterprise_has_independent_members: Mapped[bool] = mapped_column(Boolean, default=False)
    has_recharge_bonus: Mapped[bool] = mapped_column(Boolean, default=False)
    has_stored_value_card: Mapped[bool] = mapped_column(Boolean, default=False)
    has_reserved_instances: Mapped[bool] = mapped_column(Boolean, default=False)
    has_support_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    in_arrears: Mapped[bool] = mapped_column(Boolean, default=False)
    account_frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    has_orders_awaiting_partner_payment: Mapped[bool] = mapped_column(Boolean, default=False)
    has_unused_pickup_vouchers: Mapped[bool] = mapped_column(Boolean, default=False)
    # zh-CN | en; NULL: the site default (PARTNERFLOW_DEFAULT_LOCALE). Emails go in this language.
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # An IANA zone for times in emails; NULL: Asia/Shanghai for zh-CN, UTC for en.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)


# Who reads an address (activities/notify.py, for every email) and console sign-in look people up
# by lower(email): without these each was a full scan (migration 0010_email_lookup).
Index("ix_users_email_lower", func.lower(User.email))
Index("ix_customers_email_lower", func.lower(Customer.email))
Index("ix_partners_contact_email_lower", func.lower(Partner.contact_email))


class Binding(Base):
    """An association between a partner and a customer; at most one active per customer."""

    __tablename__ = "bindings"
    __table_args__ = (
        # The database, not the code, guarantees one partner per customer.
        Index(
            "uq_bindings_one_active_per_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    mode: Mapped[str] = mapped_column(String(16))  # consulting | resale
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    # resale: the account stays frozen until the partner sets the customer's budget (the vendor's rule)
    awaiting_budget: Mapped[bool] = mapped_column(Boolean, default=False)
    allocated_balance: Mapped[Decimal] = mapped_column(Money, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    workflow_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Invitation(Base):
    """One run of the invitation workflow (a resend after expiry is a new row)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(200), unique=True)  # workflow id + run id
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))  # email | offline
    status: Mapped[str] = mapped_column(String(16))
    sent_to: Mapped[str] = mapped_column(String(254))
    invited_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class HumanTask(Base):
    """A step that waits for a person: the approver inbox is a view of this table."""

    __tablename__ = "human_tasks"
    __table_args__ = (Index("ix_human_tasks_inbox", "status", "assignee_role", "assignee_party"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    assignee_role: Mapped[str] = mapped_column(String(32))
    assignee_party: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assignee_user: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # open | done | cancelled | expired | escalated
    status: Mapped[str] = mapped_column(String(16), default="open")
    decision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """A business event of a workflow: who did what, when (the timeline of ``show``)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    event: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    # who entered the decision for ``actor`` (an OS user or PARTNERFLOW_OPERATOR)
    operator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmailOutbox(Base):
    """Every email, written before it is sent; the key makes a retry send nothing twice."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    template: Mapped[str] = mapped_column(String(100))
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending | sent | bounced | invalid
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LinkUse(Base):
    """A signed email link that has been acted on (links are single use)."""

    __tablename__ = "link_uses"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(Text)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
