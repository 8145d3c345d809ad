"""Tables of the incentive payout (docs/incentives.md): billing facts, rates, payouts, invoices and
the three ways money reaches the partner (bank payment, voucher, recharge-account credit)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from infra.db import Base, Money, UTCDateTime


class Rate(TypeDecorator[Decimal]):
    """An incentive rate with four decimals, exact on SQLite too (stored as text there)."""

    impl = Numeric(7, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(16))
        return dialect.type_descriptor(Numeric(7, 4))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        q = Decimal(value).quantize(Decimal("0.0001"))
        return str(q) if dialect.name == "sqlite" else q

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.0001"))


class ConsumptionLineRow(Base):
    """One line of the billing export; ``line_id`` is the export's id (a re-import updates)."""

    __tablename__ = "consumption_lines"
    __table_args__ = (Index("ix_consumption_lines_customer_day", "customer_id", "consumed_on"),)

    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    consumed_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    payment_kind: Mapped[str] = mapped_column(String(32))
    site: Mapped[str] = mapped_column(String(16))
    product_line: Mapped[str] = mapped_column(String(16))


class PartnerBillStatus(Base):
    """Whether every bill of a partner's monthly cycle is paid."""

    __tablename__ = "partner_bill_status"

    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    all_paid: Mapped[bool] = mapped_column(Boolean)
    paid_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class IncentiveRate(Base):
    """The incentive rate of a partner type on a site (overrides the settings' default)."""

    __tablename__ = "incentive_rates"

    partner_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(16), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Rate)


class IncentivePayout(Base):
    """One partner's payout for one month; ``payout_id`` is the workflow id."""

    __tablename__ = "incentive_payouts"
    __table_args__ = (UniqueConstraint("partner_id", "period", name="uq_incentive_payouts_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payout_id: Mapped[str] = mapped_column(String(200), unique=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    run_id: Mapped[str] = mapped_column(String(64))  # the workflow run that opened it
    status: Mapped[str] = mapped_column(String(24), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    carried_out: Mapped[Decimal] = mapped_column(Money, default=0)
    statement_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    method: Mapped[str | None] = mapped_column(String(24), nullable=True)
    applied_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    payment_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncentiveInvoice(Base):
    """An invoice accepted for a payout; the UNIQUE number keeps it from covering two."""

    __tablename__ = "incentive_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_number: Mapped[str] = mapped_column(String(20), unique=True)
    payout_id: Mapped[str] = mapped_column(ForeignKey("incentive_payouts.payout_id"), index=True)
    invoice_type: Mapped[str] = mapped_column(String(16))
    buyer_title: Mapped[str] = mapped_column(String(200))
    buyer_tax_id: Mapped[str] = mapped_column(String(32))
    seller_name: Mapped[str] = mapped_column(String(200))
    seller_tax_id: Mapped[str] = mapped_column(String(32))
    amount_excl_tax: Mapped[Decimal] = mapped_column(Money)
    tax_amount: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    issued_on: Mapped[date] = mapped_column(Date)
    submitted_by: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncentivePayment(Base):
    """A bank transfer through the payment gateway, once per idempotency key."""

    __tablename__ = "incentive_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payout_id: Mapped[str] = mapped_column(ForeignKey("incentive_payouts.payout_id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))  # pending | paid
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    gateway_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IncentiveVoucher(Base):
    """A voucher issued to the partner as its payout, once per idempotency key."""

    __tablename__ = "incentive_vouchers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    voucher_code: Mapped[str] = mapped_column(String(40), unique=True)
    payout_id: Mapped[str] = mapped_column(ForeignKey("incentive_payouts.payout_id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RechargeCredit(Base):
    """A credit to the partner's recharge account, once per idempotency key."""

    __tablename__ = "incentive_recharge_credits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payout_id: Mapped[str] = mapped_column(ForeignKey("incentive_payouts.payout_id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    credited_at: Mapped[datetime] = mapped_column(UTCDateTime)
