"""Tables of unbinding and association-type switching (docs/unbinding.md).

A change request is one run of the unbinding workflow; it keeps the binding's mode before
and after, so the binding's history of modes is the list of its approved switch requests.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, Money, UTCDateTime


class BindingChangeRequest(Base):
    """A request to unbind a customer or switch its association type."""

    __tablename__ = "binding_change_requests"
    __table_args__ = (
        # The frequency limit counts a side's requests per customer in a time window.
        Index("ix_binding_change_requests_frequency", "customer_id", "initiator", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_key: Mapped[str] = mapped_column(String(200), unique=True)  # workflow id + run id
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    binding_id: Mapped[int] = mapped_column(ForeignKey("bindings.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))  # unbind | switch_mode
    initiator: Mapped[str] = mapped_column(String(16))  # partner | customer
    requested_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_mode: Mapped[str] = mapped_column(String(16))  # the binding's mode when requested
    new_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)  # switch only
    # PENDING | APPROVED | REJECTED | LAPSED | CANCELLED | REFUSED
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # approved without the other side: lapsed customer request, or international-site rule
    auto_decided: Mapped[bool] = mapped_column(Boolean, default=False)


class BalanceRecovery(Base):
    """The partner's unused allocation taken back from a resale customer (once per request)."""

    __tablename__ = "balance_recoveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("binding_change_requests.id"), unique=True)
    binding_id: Mapped[int] = mapped_column(ForeignKey("bindings.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    recovered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerVoucher(Base):
    """A voucher or cash coupon a customer holds, with who issued it."""

    __tablename__ = "customer_vouchers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # voucher | cash_coupon
    issuer: Mapped[str] = mapped_column(String(16))  # partner | vendor
    issuer_partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    balance: Mapped[Decimal] = mapped_column(Money)
    # held | recalled | returned | used | expired
    status: Mapped[str] = mapped_column(String(16), default="held")
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VoucherDisposition(Base):
    """What an unbinding did with one voucher or coupon (once per request and item)."""

    __tablename__ = "voucher_dispositions"
    __table_args__ = (
        UniqueConstraint("request_id", "voucher_id", name="uq_voucher_dispositions_request_item"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("binding_change_requests.id"), index=True)
    voucher_id: Mapped[str] = mapped_column(ForeignKey("customer_vouchers.id"))
    action: Mapped[str] = mapped_column(String(24))  # recalled | kept | returned_to_issuer
    kind: Mapped[str] = mapped_column(String(16))
    issuer: Mapped[str] = mapped_column(String(16))
    issuer_partner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    disposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
