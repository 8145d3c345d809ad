"""Activity payloads of activities/unbinding.py: what its activities take and return (pydantic v2).

They live in domain/ so that workflows, services and activities share them without importing
activity code; class names are not in payloads, so moving them keeps stored histories valid.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from domain.parties import AssociationMode
from domain.unbinding import (
    ChangeKind,
    Disposition,
    Initiator,
    RequestStatus,
)


class LoadChangeContext(BaseModel):
    """Which binding to load."""

    binding_id: int


class RecordChangeRequest(BaseModel):
    """Writes the request row once per key (the workflow run)."""

    key: str
    workflow_id: str
    binding_id: int
    partner_id: str
    customer_id: str
    kind: ChangeKind
    initiator: Initiator
    requested_by: str
    reason: str | None = None
    previous_mode: AssociationMode
    new_mode: AssociationMode | None = None
    created_at: datetime
    expires_at: datetime | None = None


class ChangeRequestRef(BaseModel):
    """The request row's id."""

    id: int


class RecoverBalance(BaseModel):
    """Takes back the partner's unused allocation from a resale customer (once per request)."""

    request_id: int
    binding_id: int
    at: datetime


class RecoveryResult(BaseModel):
    """The amount recovered by this request (the same on every retry)."""

    amount: Decimal


class DisposeVouchers(BaseModel):
    """Recalls, keeps or returns each voucher and coupon of the customer (once per item)."""

    request_id: int
    partner_id: str
    customer_id: str
    at: datetime


class Dispositions(BaseModel):
    """What happened to each voucher and coupon."""

    items: list[Disposition]


class ApplyChangeDecision(BaseModel):
    """Records the decision and its effect on the binding in one transaction."""

    request_id: int
    status: RequestStatus
    decided_by: str | None = None
    decided_at: datetime
    comment: str | None = None
    auto_decided: bool = False
    effect: Literal["none", "end_binding", "switch_mode"] = "none"
    binding_id: int
    previous_mode: AssociationMode
    new_mode: AssociationMode | None = None
    ended_reason: str | None = None


class ChangeApplied(BaseModel):
    """The request's final status as stored."""

    status: RequestStatus
