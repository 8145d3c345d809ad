"""Paying a payout by bank transfer: the payment-gateway interface, the fake gateway used in
development and tests, and the activity that pays exactly once per idempotency key."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from domain.payment_models import BankTransfer, PaymentRef, TransferReceipt, TransferRequest
from infra.db import insert_ignore, utcnow
from infra.tables import IncentivePayment


class PaymentGatewayUnavailableError(Exception):
    """A transient gateway failure (timeout, 5xx): the activity retries it."""


class PaymentGateway(Protocol):
    """The bank's payment API as PartnerFlow uses it.

    Implementations must treat ``idempotency_key`` as the bank does: a second request with the
    same key returns the first transfer's receipt and moves no money.
    """

    async def transfer(self, req: TransferRequest) -> TransferReceipt:
        """Transfers ``req.amount`` to the partner, once per key."""
        ...


@dataclass
class FakePaymentGateway:
    """An in-memory stand-in for the bank, for development and tests (moves no money).

    It records every call, keeps one receipt per idempotency key as a real gateway would, and
    can be told to fail the next N calls transiently (``fail_next(2)``).
    """

    calls: list[TransferRequest] = field(default_factory=list)
    transfers: dict[str, TransferReceipt] = field(default_factory=dict)
    _failures_left: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def fail_next(self, n: int) -> None:
        """The next ``n`` calls raise ``PaymentGatewayUnavailableError``."""
        self._failures_left = n

    async def transfer(self, req: TransferRequest) -> TransferReceipt:
        """Records the call; pays once per key; fails while told to."""
        async with self._lock:
            self.calls.append(req)
            if self._failures_left > 0:
                self._failures_left -= 1
                raise PaymentGatewayUnavailableError("fake gateway: service unavailable (503)")
            receipt = self.transfers.get(req.idempotency_key)
            if receipt is None:
                digest = hashlib.sha256(req.idempotency_key.encode()).hexdigest()[:16].upper()
                receipt = TransferReceipt(
                    idempotency_key=req.idempotency_key,
                    gateway_reference=f"FAKE-{digest}",
                    amount=req.amount,
                )
                self.transfers[req.idempotency_key] = receipt
            return receipt


class PaymentActivities:
    """Bank transfers: a payment row (UNIQUE key) first, then the gateway with the same key."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway) -> None:
        self._sessions = sessions
        self._gateway = gateway

    @activity.defn
    @business_errors
    async def pay_bank_transfer(self, req: BankTransfer) -> PaymentRef:
        """Pays once per ``req.key``; a retry after success returns the recorded payment.

        The row is written before the gateway is called, and the gateway gets the same key,
        so a crash between the gateway's answer and the row update cannot pay twice.
        """
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, IncentivePayment, ["idempotency_key"]).values(
                    idempotency_key=req.key,
                    payout_id=req.payout_id,
                    partner_id=req.partner_id,
                    amount=req.amount,
                    status="pending",
                    attempts=0,
                    created_at=req.at,
                )
            )
            row = await s.scalar(
                select(IncentivePayment).where(IncentivePayment.idempotency_key == req.key)
            )
            assert row is not None
            if row.status == "paid":
                assert row.gateway_reference is not None and row.paid_at is not None
                return PaymentRef(
                    key=req.key,
                    gateway_reference=row.gateway_reference,
                    amount=row.amount,
                    paid_at=row.paid_at,
                )
            await s.execute(
                update(IncentivePayment)
                .where(IncentivePayment.id == row.id)
                .values(attempts=IncentivePayment.attempts + 1)
            )
            amount = row.amount  # the recorded amount is what is paid, whatever a retry says
        try:
            receipt = await self._gateway.transfer(
                TransferRequest(
                    idempotency_key=req.key,
                    partner_id=req.partner_id,
                    payee_name=req.payee_name,
                    payee_tax_id=req.payee_tax_id,
                    amount=amount,
                    reference=req.payout_id,
                )
            )
        except Exception as exc:
            async with self._sessions.begin() as s:
                await s.execute(
                    update(IncentivePayment)
                    .where(IncentivePayment.idempotency_key == req.key)
                    .values(last_error=f"{type(exc).__name__}: {exc}"[:2000])
                )
            raise
        paid_at = utcnow()
        async with self._sessions.begin() as s:
            await s.execute(
                update(IncentivePayment)
                .where(IncentivePayment.idempotency_key == req.key)
                .values(
                    status="paid",
                    gateway_reference=receipt.gateway_reference,
                    paid_at=paid_at,
                    last_error=None,
                )
            )
        return PaymentRef(
            key=req.key, gateway_reference=receipt.gateway_reference, amount=amount, paid_at=paid_at
        )


def gateway_for(kind: str) -> PaymentGateway:
    """The configured gateway (``Settings.payment_gateway``)."""
    if kind == "fake":
        return FakePaymentGateway()
    raise ValueError(f"unknown payment gateway {kind!r}")
