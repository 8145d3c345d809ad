"""Activity payloads of activities/renewals.py: what its activities take and return (pydantic v2).

They live in domain/ so that workflows, services and activities share them without importing
activity code; class names are not in payloads, so moving them keeps stored histories valid.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.authorizations import (
    AuthorizationStatus,
    AuthorizationView,
)
from domain.renewals import (
    RenewalCandidate,
    RenewalPolicy,
    RenewalTimings,
    RenewalView,
    SubscriptionSnapshot,
)
from domain.tasks import Bookkeeping


class CandidateQuery(BaseModel):
    """One page of the scan: orders after ``after_order_id``, in order-id order."""

    as_of: datetime
    policy: RenewalPolicy
    after_order_id: str | None = None
    limit: int = Field(default=500, ge=1)


class CandidatePage(BaseModel):
    """The candidates of one page, and where the next page starts (None: this was the last)."""

    candidates: list[RenewalCandidate]
    scanned: int
    next_after: str | None = None


class StartRenewals(BaseModel):
    """Starts one renewal workflow per candidate, unless one was ever started for it."""

    candidates: list[RenewalCandidate]
    timings: RenewalTimings
    task_queue: str


class StartedBatch(BaseModel):
    """How many workflows this batch started, and how many already existed."""

    started: int
    already_existing: int


class RenewalContextQuery(BaseModel):
    """Which order, partner and customer to load."""

    order_id: str
    partner_id: str
    customer_id: str


class SubscriptionQuery(BaseModel):
    """Which order to read from the billing data."""

    order_id: str


class SubscriptionState(BaseModel):
    """The order as the billing data shows it now (None: no longer in the export)."""

    current: SubscriptionSnapshot | None


class RenewalRecord(BaseModel):
    """The renewal task row as the workflow sees it now."""

    view: RenewalView
    at: datetime
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None


class AuthorizationContextQuery(BaseModel):
    """Which partner and customer an authorization is about."""

    partner_id: str
    customer_id: str


class AuthorizationLookup(BaseModel):
    """Is there an authorization to reuse, or a request in flight, for this pair at ``at``?"""

    partner_id: str
    customer_id: str
    at: datetime


class AuthorizationRef(BaseModel):
    """An authorization row, as another workflow needs it."""

    workflow_id: str
    status: AuthorizationStatus
    valid_until: datetime | None = None


class AuthorizationFound(BaseModel):
    """What ``find_authorization`` found."""

    reusable: AuthorizationRef | None = None
    pending: AuthorizationRef | None = None
    letter_accepted: bool = False


class LetterAcceptance(BaseModel):
    """The partner accepts the commitment letter (recorded once per partner and version)."""

    partner_id: str
    version: str
    text: str
    accepted_by: str
    accepted_at: datetime
    workflow_id: str


class LetterRef(BaseModel):
    """The acceptance row (the first one, if the partner had accepted before)."""

    id: int
    accepted_by: str
    accepted_at: datetime


class AuthorizationRecord(BaseModel):
    """The authorization row of one workflow run as the workflow sees it now."""

    run_key: str
    view: AuthorizationView
    requested_at: datetime
    at: datetime
    # The step's tasks and audit events, committed in the same transaction as the row.
    step: Bookkeeping | None = None
