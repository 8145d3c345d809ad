"""Big-order renewal tables: subscriptions, renewal tasks, authorizations, commitment letters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, Money, UTCDateTime


class Subscription(Base):
    """A yearly/monthly resource order from the billing export (re-imported as it changes)."""

    __tablename__ = "subscriptions"
    # The daily scan reads orders with auto-renew off by expiry.
    __table_args__ = (Index("ix_subscriptions_scan", "auto_renew", "expires_at"),)

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    billing: Mapped[str] = mapped_column(String(16))  # yearly | monthly
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RenewalTask(Base):
    """One renewal task (one order and expiry date), as its workflow last recorded it.

    The scan writes the row before starting the workflow and sets ``workflow_started``
    after; a started row is never started again, even after Temporal forgot the workflow.
    """

    __tablename__ = "renewal_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.order_id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    billing: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))  # the binding's association type
    status: Mapped[str] = mapped_column(String(32), index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    authorization_workflow_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    renewed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    workflow_started: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerAuthorization(Base):
    """One run of the authorization workflow (a new request after expiry is a new row)."""

    __tablename__ = "customer_authorizations"
    __table_args__ = (Index("ix_customer_authorizations_pair", "partner_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(200), unique=True)  # workflow id + run id
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    distributor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(300), default="")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    distributor_approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CommitmentLetter(Base):
    """A partner's acceptance of the commitment letter for operating on customers' behalf."""

    __tablename__ = "commitment_letters"
    __table_args__ = (UniqueConstraint("partner_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    version: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    accepted_by: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    workflow_id: Mapped[str] = mapped_column(String(200))
