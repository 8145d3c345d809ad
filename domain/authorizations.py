"""Customer authorization to order on its behalf (代客下单授权): rules and payloads (docs/renewals.md).

Ordering on behalf of a resale customer needs the customer's authorization (the vendor's rule); on its
first request the partner accepts a commitment letter (the vendor's rule); a cloud reseller needs its
distributor's authorization first (the vendor's rule); the customer may revoke at any time with a reason
(the vendor's rule); an authorization is valid 30 days (PartnerFlow's default).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.parties import (
    Actor,
    AssociationMode,
    BindingSnapshot,
    CustomerSnapshot,
    PartnerSnapshot,
    PartnerStatus,
    PartnerType,
    Role,
)
from domain.types import DECISION_TIMEOUT, BusinessDuration

COMMITMENT_LETTER_VERSION = "2026-1"
COMMITMENT_LETTER_TEXT = (
    "Commitment letter for operating on customers' behalf (代客操作承诺函), version "
    f"{COMMITMENT_LETTER_VERSION}. The partner orders, renews or pays for a customer's resources "
    "only with that customer's valid authorization and only within it; keeps the customer "
    "informed of every operation; follows the vendor's partner policies and supply paths; "
    "and cooperates with the vendor's audits of these operations. The customer may revoke an "
    "authorization at any time."
)


class AuthorizationStatus(StrEnum):
    """Lifecycle of one authorization request."""

    CHECKING = "CHECKING"
    AWAITING_DISTRIBUTOR = "AWAITING_DISTRIBUTOR"  # a cloud reseller's distributor decides first
    AWAITING_CUSTOMER = "AWAITING_CUSTOMER"
    APPROVED = "APPROVED"  # valid until ``valid_until``
    CANCELLED = "CANCELLED"  # the customer (or the distributor, or the partner) said no
    REFUSED = "REFUSED"  # a rule refused the request before anyone was asked
    LAPSED = "LAPSED"  # nobody answered within the request window
    EXPIRED = "EXPIRED"  # approved, and the validity ended
    REVOKED = "REVOKED"  # approved, then revoked by the customer


PENDING_STATUSES = frozenset(
    {AuthorizationStatus.AWAITING_DISTRIBUTOR, AuthorizationStatus.AWAITING_CUSTOMER}
)
FINAL_STATUSES = frozenset(
    {
        AuthorizationStatus.CANCELLED,
        AuthorizationStatus.REFUSED,
        AuthorizationStatus.LAPSED,
        AuthorizationStatus.EXPIRED,
        AuthorizationStatus.REVOKED,
    }
)


# The signal a waiting workflow receives (named, because renewal imports this module's workflow).
CHANGED_SIGNAL = "authorization_changed"


def authorization_workflow_id(partner_id: str, customer_id: str) -> str:
    """One live authorization per partner and customer."""
    return f"authorization-{partner_id}-{customer_id}"


class AuthorizationRequest(BaseModel):
    """Input of the authorization workflow; durations default to production values."""

    partner_id: str
    customer_id: str
    requested_by: Actor
    accept_commitment_letter: bool = False
    purpose: str = ""
    validity: BusinessDuration = timedelta(days=30)
    request_window: BusinessDuration = timedelta(days=7)
    # Workflows to tell about every change (the renewal that asked, when a child).
    notify: list[str] = Field(default_factory=list)
    # How long a decision may wait for its activities before it is refused (workflows/guard.py).
    decision_timeout: BusinessDuration = DECISION_TIMEOUT


class Contact(BaseModel):
    """A user to email (and to give a personal signed link)."""

    user_id: str
    name: str
    email: str


class AuthorizationContext(BaseModel):
    """Fresh facts for the rules, loaded by an activity."""

    partner: PartnerSnapshot | None
    customer: CustomerSnapshot | None
    binding: BindingSnapshot | None = None
    distributor: PartnerSnapshot | None = None
    distributor_admins: list[Contact] = Field(default_factory=list)
    letter_accepted: bool = False


class Refusal(BaseModel):
    """One rule that refuses the request, with the message a person can act on."""

    rule: str
    message: str


class AuthorizationView(BaseModel):
    """What the ``status`` query and the decision updates return."""

    workflow_id: str
    partner_id: str
    customer_id: str
    status: AuthorizationStatus
    requested_by: str
    purpose: str = ""
    distributor_id: str | None = None
    distributor_approved_by: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    deadline_at: datetime | None = None
    valid_until: datetime | None = None
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    reason: str | None = None
    refusals: list[Refusal] = Field(default_factory=list)
    commitment_letter_version: str | None = None


class Waiter(BaseModel):
    """Signal: another workflow wants to hear about this authorization's changes."""

    workflow_id: str


class AuthorizationChanged(BaseModel):
    """Signal to a waiting workflow: the authorization's new state."""

    workflow_id: str
    status: AuthorizationStatus
    valid_until: datetime | None = None
    reason: str | None = None


def requester_refusal(actor: Actor, partner: PartnerSnapshot | None) -> Refusal | None:
    """Who may request: an admin or staff user of the ACTIVE partner, or ops."""
    if partner is None:
        return Refusal(rule="partner_not_found", message="the partner does not exist")
    if actor.role != Role.OPS and not actor.is_partner_user_of(partner.id):
        return Refusal(
            rule="not_partner_user",
            message=f"{actor.describe()} is not a user of partner {partner.id}; only its "
            "admin or staff may ask its customers for authorization",
        )
    if partner.status != PartnerStatus.ACTIVE:
        return Refusal(
            rule="partner_not_active",
            message=f"partner {partner.id} is {partner.status.value}; only ACTIVE partners "
            "order on a customer's behalf",
        )
    return None


def authorization_refusals(ctx: AuthorizationContext, accept_letter: bool) -> list[Refusal]:
    """Every rule that refuses asking this customer (empty: the request may go out)."""
    partner, customer, binding = ctx.partner, ctx.customer, ctx.binding
    if partner is None or customer is None:
        missing = "partner" if partner is None else "customer"
        return [
            Refusal(
                rule="partner_not_found" if partner is None else "customer_not_found",
                message=f"the {missing} does not exist",
            )
        ]
    out: list[Refusal] = []
    if binding is None or binding.partner_id != partner.id:
        out.append(
            Refusal(
                rule="not_bound_to_partner",
                message=f"customer {customer.id} is not bound to partner {partner.id}; "
                "only a partner's own customers can authorize it",
            )
        )
    elif binding.mode != AssociationMode.RESALE:
        out.append(
            Refusal(
                rule="not_resale",
                message=f"customer {customer.id} is bound in {binding.mode.value} mode; ordering "
                "authorization is for resale customers (a consulting customer orders itself)",
            )
        )
    if not ctx.letter_accepted and not accept_letter:
        out.append(
            Refusal(
                rule="commitment_letter_required",
                message=f"partner {partner.id} has not accepted the commitment letter for "
                "operating on customers' behalf; accept it with this first request "
                "(--accept-commitment-letter)",
            )
        )
    if needs_distributor_authorization(partner):
        if partner.distributor_id is None:
            out.append(
                Refusal(
                    rule="reseller_without_distributor",
                    message=f"cloud reseller {partner.id} has no distributor on record, and "
                    "its distributor must authorize it first; ask ops to record the distributor",
                )
            )
        elif ctx.distributor is None or ctx.distributor.status != PartnerStatus.ACTIVE:
            out.append(
                Refusal(
                    rule="distributor_not_active",
                    message=f"distributor {partner.distributor_id} of cloud reseller {partner.id} "
                    "is not an ACTIVE partner, so it cannot authorize the reseller",
                )
            )
        elif not ctx.distributor_admins:
            out.append(
                Refusal(
                    rule="distributor_has_no_admin",
                    message=f"distributor {partner.distributor_id} has no active partner_admin "
                    "user to authorize the reseller; ask ops to import one",
                )
            )
    return out


def needs_distributor_authorization(partner: PartnerSnapshot) -> bool:
    """A cloud reseller needs its distributor's authorization first (the vendor's rule)."""
    return partner.type == PartnerType.CLOUD_RESELLER


def is_reusable(status: AuthorizationStatus, valid_until: datetime | None, now: datetime) -> bool:
    """An approved authorization still valid at ``now`` is reused, not asked for again."""
    return status == AuthorizationStatus.APPROVED and valid_until is not None and valid_until > now


def decider_refusal(
    actor: Actor, status: AuthorizationStatus, customer_id: str, distributor_id: str | None
) -> str | None:
    """Who may approve (or say no) at the current step, or why this actor may not."""
    if status == AuthorizationStatus.AWAITING_DISTRIBUTOR:
        if actor.role == Role.PARTNER_ADMIN and actor.partner_id == distributor_id:
            return None
        return (
            f"the request waits for distributor {distributor_id}: only its partner_admin may "
            f"decide now, not {actor.describe()}"
        )
    if status == AuthorizationStatus.AWAITING_CUSTOMER:
        if actor.is_customer(customer_id):
            return None
        return f"only customer {customer_id} may decide this request, not {actor.describe()}"
    return None
