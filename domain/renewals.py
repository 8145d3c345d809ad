"""Big-order renewal tasks (大单续订任务): the scan rule, the partner-payment rule and payloads.

docs/renewals.md. Only orders with auto-renew off need a task, because auto-renew charges by
itself from 7 days before expiry (the vendor's rule); everything about how tasks are created and timed is
(PartnerFlow's default) and comes in as parameters (the CLI and the schedule fill them from Settings).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.authorizations import Contact
from domain.parties import (
    Actor,
    AssociationMode,
    BindingSnapshot,
    CustomerSnapshot,
    PartnerSnapshot,
    PartnerType,
)
from domain.reference import Ident
from domain.text import N_, MarkedError
from domain.types import DECISION_TIMEOUT, BusinessDuration, BusinessOffset, Money, Name

DAY = timedelta(days=1)
# The activity that starts renewal workflows names the type (it must not import workflows/).
RENEWAL_WORKFLOW_TYPE = "RenewalWorkflow"


class Billing(StrEnum):
    """How a resource is billed (包年/包月)."""

    YEARLY = "yearly"
    MONTHLY = "monthly"


class RenewalStatus(StrEnum):
    """Lifecycle of one renewal task (one order and expiry date)."""

    STARTING = "STARTING"  # the scan wrote the row; the workflow has not run yet
    OPEN = "OPEN"  # waiting for a partner user to claim it
    CLAIMED = "CLAIMED"
    WILL_RENEW = "WILL_RENEW"  # feedback: the customer will renew itself
    AWAITING_AUTHORIZATION = "AWAITING_AUTHORIZATION"  # partner pays, customer must authorize
    PARTNER_PAYS = "PARTNER_PAYS"  # partner pays (authorized where needed); billing will show it
    RENEWED = "RENEWED"
    DECLINED = "DECLINED"
    LOST = "LOST"
    CANCELLED = "CANCELLED"  # ops withdrew it, or the customer is no longer this partner's


FINAL_STATUSES = frozenset(
    {RenewalStatus.RENEWED, RenewalStatus.DECLINED, RenewalStatus.LOST, RenewalStatus.CANCELLED}
)


class RenewalOutcome(StrEnum):
    """The partner's feedback on a renewal task."""

    WILL_RENEW = "will_renew"
    CUSTOMER_DECLINES = "customer_declines"  # a reason is required
    PARTNER_PAYS = "partner_pays"  # the partner pays on the customer's behalf


class SubscriptionSnapshot(BaseModel):
    """A yearly/monthly resource order as the billing export shows it."""

    order_id: str
    customer_id: str
    product: str
    amount: Decimal
    billing: Billing
    expires_at: datetime
    auto_renew: bool


class RenewalPolicy(BaseModel):
    """The scan's selection parameters (docs/renewals.md numbers, PartnerFlow defaults from Settings)."""

    threshold: Decimal = Decimal("50000.00")
    yearly_lead: BusinessDuration = timedelta(days=30)
    monthly_lead: BusinessDuration = timedelta(days=7)

    def lead(self, billing: Billing) -> timedelta:
        """How long before expiry an order of this billing kind becomes a task."""
        return self.yearly_lead if billing == Billing.YEARLY else self.monthly_lead

    @property
    def longest_lead(self) -> timedelta:
        """The widest window: what a database pre-filter may safely use."""
        return max(self.yearly_lead, self.monthly_lead)


def not_a_candidate_because(
    sub: SubscriptionSnapshot, bound_partner_id: str | None, as_of: datetime, policy: RenewalPolicy
) -> str | None:
    """Why this order gets no renewal task at ``as_of`` (None: it is a candidate).

    A candidate has auto-renew off, an amount of at least the threshold (inclusive), an
    expiry after ``as_of`` and no later than the lead window of its billing kind, and a
    customer bound to a partner.
    """
    if sub.auto_renew:
        return "auto-renew is on: the order renews itself"
    if sub.amount < policy.threshold:
        return f"amount {sub.amount} is below the big-order threshold {policy.threshold}"
    if sub.expires_at <= as_of:
        return "the order has already expired"
    lead = policy.lead(sub.billing)
    if sub.expires_at > as_of + lead:
        return f"expiry is more than {lead.days} days away ({sub.billing.value} lead window)"
    if bound_partner_id is None:
        return "the customer is not bound to a partner"
    return None


def is_renewal_candidate(
    sub: SubscriptionSnapshot, bound_partner_id: str | None, as_of: datetime, policy: RenewalPolicy
) -> bool:
    """The scan's selection rule (see ``not_a_candidate_because``)."""
    return not_a_candidate_because(sub, bound_partner_id, as_of, policy) is None


def renewal_workflow_id(order_id: str, expires_at: datetime) -> str:
    """One task per order and expiry date: ``renewal-{order}-{YYYYMMDD}`` (UTC date)."""
    return f"renewal-{order_id}-{expires_at.astimezone(UTC):%Y%m%d}"


def scan_workflow_id(as_of: datetime) -> str:
    """The on-demand scan of one day."""
    return f"renewal-scan-{as_of.astimezone(UTC):%Y%m%d}"


def is_renewed(task_expires_at: datetime, current: SubscriptionSnapshot | None) -> bool:
    """The billing data shows a renewal: the order's expiry moved past the task's expiry."""
    return current is not None and current.expires_at > task_expires_at


def partner_payment_refusal(
    partner_type: PartnerType, mode: AssociationMode, partner_id: str, customer_id: str
) -> str | None:
    """The seed's partner-payment rule: why this partner may not pay for this customer.

    A solution provider may pay for consulting and resale customers; a cloud reseller only
    for resale customers; a distributor has no customers of its own to pay for.
    """
    if partner_type == PartnerType.SOLUTION_PROVIDER:
        return None
    if partner_type == PartnerType.CLOUD_RESELLER:
        if mode == AssociationMode.RESALE:
            return None
        return (
            f"partner {partner_id} is a cloud reseller: it may pay only for resale customers, "
            f"and customer {customer_id} is bound in consulting mode; record will_renew or "
            "customer_declines instead"
        )
    return (
        f"partner {partner_id} is a {partner_type.value}: it may not pay for a customer's "
        "renewal; record will_renew or customer_declines instead"
    )


def needs_customer_authorization(mode: AssociationMode) -> bool:
    """Ordering on behalf of a resale customer needs its authorization first (the vendor's rule)."""
    return mode == AssociationMode.RESALE


def reminder_times(
    expires_at: datetime, created_at: datetime, before: list[timedelta]
) -> list[tuple[timedelta, datetime]]:
    """The reminders still ahead when the task is created, earliest first.

    A reminder point at or before the creation is skipped: the task email itself is the
    first notice (a monthly order with a 7-day lead window gets its 7- and 1-day reminders
    only if they are still ahead).
    """
    out = [(b, expires_at - b) for b in before if expires_at - b > created_at]
    return sorted(out, key=lambda t: t[1])


def escalation_time(
    expires_at: datetime, created_at: datetime, unclaimed_before: timedelta
) -> datetime | None:
    """When an unclaimed task goes to the ecosystem manager, or None.

    None when the point lies at or before the creation: a task created inside the escalation
    window has not yet had a chance to be claimed, so it is not escalated on arrival.
    """
    at = expires_at - unclaimed_before
    return at if at > created_at else None


def days_before(delta: timedelta) -> int:
    """A reminder offset in whole days (for email texts and keys)."""
    return round(delta / DAY)


class RenewalTimings(BaseModel):
    """Durations of one renewal task; production defaults, filled from Settings by starters."""

    reminders_before: list[BusinessOffset] = Field(
        default_factory=lambda: [timedelta(days=15), timedelta(days=7), timedelta(days=1)]
    )
    escalate_unclaimed_before: BusinessOffset = timedelta(days=7)
    billing_check_interval: BusinessDuration = timedelta(days=1)
    authorization_validity: BusinessDuration = timedelta(days=30)
    authorization_request_window: BusinessDuration = timedelta(days=7)

    @field_validator("reminders_before")
    @classmethod
    def _positive(cls, v: list[timedelta]) -> list[timedelta]:
        if any(d <= timedelta(0) for d in v):
            raise MarkedError(N_("reminder offsets must be positive durations"))
        return v


class RenewalCandidate(BaseModel):
    """An order the scan selected, with the partner its customer is bound to."""

    subscription: SubscriptionSnapshot
    partner_id: str
    mode: AssociationMode

    @property
    def workflow_id(self) -> str:
        """The renewal workflow's id."""
        return renewal_workflow_id(self.subscription.order_id, self.subscription.expires_at)


class RenewalRequest(BaseModel):
    """Input of the renewal workflow: the order as the scan saw it, and the timings."""

    subscription: SubscriptionSnapshot
    partner_id: str
    mode: AssociationMode
    timings: RenewalTimings = Field(default_factory=RenewalTimings)
    # How long a decision may wait for its activities before it is refused (workflows/guard.py).
    decision_timeout: BusinessDuration = DECISION_TIMEOUT


class RenewalFeedback(BaseModel):
    """Update payload: the partner's feedback on a renewal task.

    ``accept_commitment_letter`` is the partner accepting the commitment letter for operating
    on the customer's behalf, needed on its first authorization request (the vendor's rule).
    """

    actor: Actor
    outcome: RenewalOutcome
    reason: str | None = None
    accept_commitment_letter: bool = False
    nonce: str | None = None

    @model_validator(mode="after")
    def _blank_reason_is_none(self) -> RenewalFeedback:
        if self.reason is not None:
            self.reason = self.reason.strip() or None
        return self


def feedback_input_refusal(fb: RenewalFeedback) -> str | None:
    """A malformed feedback: a decline without its reason."""
    if fb.outcome == RenewalOutcome.CUSTOMER_DECLINES and not fb.reason:
        return "customer_declines needs a reason (--reason): why does the customer not renew?"
    return None


class SubscriptionRow(BaseModel):
    """One row of ``partnerflow import subscriptions`` (a billing export)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_id: Ident
    customer_id: Ident
    product: Name
    amount: Money = Field(gt=0)
    billing: Billing
    expires_at: datetime
    auto_renew: bool = False

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise MarkedError(N_("expires_at needs a time zone, e.g. 2027-03-31T23:59:59+08:00"))
        return v.astimezone(UTC)


class RenewalContext(BaseModel):
    """Fresh facts for a renewal, loaded by an activity."""

    subscription: SubscriptionSnapshot | None
    partner: PartnerSnapshot | None
    customer: CustomerSnapshot | None
    binding: BindingSnapshot | None = None
    managers: list[Contact] = Field(default_factory=list)


def binding_gone_reason(ctx: RenewalContext, partner_id: str) -> str | None:
    """Why the partner no longer handles this renewal (the customer left it), or None."""
    if ctx.binding is None or ctx.binding.partner_id != partner_id:
        return f"customer is no longer bound to partner {partner_id}: the renewal task is withdrawn"
    return None


class SubscriptionChanged(BaseModel):
    """Signal: the billing import changed this order (e.g. moved its expiry later)."""

    order_id: str
    expires_at: datetime
    auto_renew: bool


class RenewalView(BaseModel):
    """What the ``status`` query and the updates of a renewal return."""

    workflow_id: str
    order_id: str
    customer_id: str
    partner_id: str
    product: str
    amount: Decimal
    billing: Billing
    mode: AssociationMode
    expires_at: datetime
    status: RenewalStatus
    escalated: bool = False
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    outcome: RenewalOutcome | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    authorization_workflow_id: str | None = None
    authorization_status: str | None = None
    renewed_until: datetime | None = None
    reminders_sent: list[int] = Field(default_factory=list)
    note: str | None = None


class ScanProgress(BaseModel):
    """Counts carried across pages and continue-as-new."""

    after_order_id: str | None = None
    pages: int = 0
    scanned: int = 0
    candidates: int = 0
    started: int = 0
    already_existing: int = 0


class RenewalScanRequest(BaseModel):
    """Input of the scan workflow. ``as_of`` None means "now" (the schedule's case)."""

    as_of: datetime | None = None
    policy: RenewalPolicy = Field(default_factory=RenewalPolicy)
    timings: RenewalTimings = Field(default_factory=RenewalTimings)
    page_size: int = Field(default=500, ge=1, le=5000)
    pages_per_run: int = Field(default=20, ge=1)
    # The queue the renewal workflows run on (None: the scan's own queue).
    renewal_task_queue: str | None = None
    progress: ScanProgress = Field(default_factory=ScanProgress)


class RenewalScanResult(BaseModel):
    """What one scan did."""

    as_of: datetime
    scanned: int
    candidates: int
    started: int
    already_existing: int
