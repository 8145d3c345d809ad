"""Activity payloads of activities/payments.py: what its activities take and return (pydantic v2).

They live in domain/ so that workflows, services and activities share them without importing
activity code; class names are not in payloads, so moving them keeps stored histories valid.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class TransferRequest(BaseModel):
    """A transfer to a partner; the gateway pays each ``idempotency_key`` once."""

    idempotency_key: str
    partner_id: str
    payee_name: str
    payee_tax_id: str
    amount: Decimal
    reference: str  # shown on the partner's bank statement


class TransferReceipt(BaseModel):
    """The gateway's confirmation."""

    idempotency_key: str
    gateway_reference: str
    amount: Decimal


class BankTransfer(BaseModel):
    """Pays one payout by bank transfer."""

    key: str
    payout_id: str
    partner_id: str
    payee_name: str
    payee_tax_id: str
    amount: Decimal
    at: datetime


class PaymentRef(BaseModel):
    """The recorded payment."""

    key: str
    gateway_reference: str
    amount: Decimal
    paid_at: datetime
