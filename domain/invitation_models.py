"""Activity payloads of activities/invitations.py: what its activities take and return (pydantic v2).

They live in domain/ so that workflows, services and activities share them without importing
activity code; class names are not in payloads, so moving them keeps stored histories valid.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.invitations import (
    Channel,
    InvitationStatus,
    Refusal,
)
from domain.notifications import EmailRequest
from domain.parties import AssociationMode
from domain.tasks import Bookkeeping


class LoadContext(BaseModel):
    """Which partner and customer to load."""

    partner_id: str
    customer_id: str
    requested_by: str | None = None


class RecordInvitation(BaseModel):
    """Writes (once) or updates the row of one invitation run."""

    run_key: str
    workflow_id: str
    partner_id: str
    customer_id: str
    mode: AssociationMode
    channel: Channel
    status: InvitationStatus
    sent_to: str
    invited_by: str
    created_at: datetime
    expires_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None


class CreateBinding(BaseModel):
    """Binds the customer to the partner, once per key, after re-checking eligibility."""

    key: str
    workflow_id: str
    partner_id: str
    customer_id: str
    mode: AssociationMode
    decided_by: str
    at: datetime
    # Emails to send the moment a new binding is committed (its id added to their context).
    # The workflow sends them again afterwards with the same keys, which finds them sent (or
    # sends them, with its retries, when this early try could not).
    notify: list[EmailRequest] = Field(default_factory=list)


class BindingOutcome(BaseModel):
    """Either the binding, or why it was refused at acceptance."""

    binding_id: int | None = None
    already_bound: bool = False
    refusals: list[Refusal] = []
