"""Customer invitation and binding (关联): payloads and the eligibility rules of docs/invitation.md."""

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
from domain.types import DECISION_TIMEOUT, BusinessDuration, BusinessOffset, Email, Ident

# Distributors (一级经销商) have resellers under them, not customers.
TYPES_WITH_SUB_CUSTOMERS = frozenset({PartnerType.SOLUTION_PROVIDER, PartnerType.CLOUD_RESELLER})


class Channel(StrEnum):
    """How the invitation reaches the customer."""

    EMAIL = "email"  # emailed link, valid 7 days (the vendor's rule)
    OFFLINE = "offline"  # link / QR code handed over by the partner, no expiry (the vendor's rule)


class InvitationStatus(StrEnum):
    """Lifecycle of one invitation."""

    CHECKING = "CHECKING"
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    REFUSED = "REFUSED"  # an eligibility rule refused it, at creation or at acceptance
    ALREADY_BOUND = "ALREADY_BOUND"  # bound to this partner already: nothing to do


FINAL_STATUSES = frozenset(InvitationStatus) - {InvitationStatus.CHECKING, InvitationStatus.PENDING}


class Refusal(BaseModel):
    """One rule that refuses a binding, with the message the console shows."""

    rule: str
    message: str


class InvitationRequest(BaseModel):
    """Input of the invitation workflow. Durations default to production values."""

    partner_id: Ident
    customer_id: Ident
    mode: AssociationMode = AssociationMode.RESALE  # resale by default (the vendor's rule)
    channel: Channel = Channel.EMAIL
    requested_by: Actor
    validity: BusinessDuration = timedelta(days=7)
    reminder_before: BusinessOffset = timedelta(days=1)
    decision_timeout: BusinessDuration = DECISION_TIMEOUT


class InvitationView(BaseModel):
    """What the ``status`` query and the decision updates return."""

    workflow_id: str
    partner_id: str
    customer_id: str
    mode: AssociationMode
    channel: Channel
    status: InvitationStatus
    sent_to: str | None = None
    expires_at: datetime | None = None
    reason: str | None = None
    refusals: list[Refusal] = Field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    binding_id: int | None = None


class EmailChanged(BaseModel):
    """Signal: ops changed the customer's email; a pending invitation is re-sent there."""

    new_email: Email


class InvitationContext(BaseModel):
    """Fresh facts for the rules, loaded by an activity."""

    partner: PartnerSnapshot | None
    customer: CustomerSnapshot | None
    active_binding: BindingSnapshot | None = None
    inviter_active: bool = True


def inviter_refusal(actor: Actor, partner: PartnerSnapshot | None) -> Refusal | None:
    """Who may invite: ops, or an admin/staff user of an ACTIVE partner that may have
    sub-customers."""
    if partner is None:
        return Refusal(rule="partner_not_found", message="the partner does not exist")
    if actor.role != Role.OPS and not actor.is_partner_user_of(partner.id):
        return Refusal(
            rule="not_partner_user",
            message=f"{actor.user_id} is not a user of partner {partner.id}; "
            "only its admin or staff (or ops) may invite for it",
        )
    if partner.status != PartnerStatus.ACTIVE:
        return Refusal(
            rule="partner_not_active",
            message=f"partner {partner.id} is {partner.status.value}; only ACTIVE partners invite",
        )
    if partner.type not in TYPES_WITH_SUB_CUSTOMERS:
        return Refusal(
            rule="partner_type_has_no_sub_customers",
            message=f"a {partner.type.value} has no sub-customers; it cannot invite customers",
        )
    return None


def binding_refusals(
    partner: PartnerSnapshot,
    customer: CustomerSnapshot,
    mode: AssociationMode,
    active_binding: BindingSnapshot | None,
) -> list[Refusal]:
    """Every eligibility rule of docs/invitation.md that refuses this binding (empty: eligible).

    "Already bound to this partner" is not a refusal here: the caller treats it as nothing to do.
    """
    out: list[Refusal] = []
    c = customer
    if mode == AssociationMode.CONSULTING and not partner.consulting_permission:
        out.append(
            Refusal(
                rule="consulting_not_permitted",
                message=f"partner {partner.id} has no permission to invite in consulting mode; "
                "ask its ecosystem manager, or invite in resale mode",
            )
        )
    if mode == AssociationMode.RESALE and c.has_credit_account:
        out.append(
            Refusal(
                rule="credit_account_no_resale",
                message=f"customer {c.id} has a credit account: it cannot be bound in resale mode; "
                "invite it in consulting mode instead",
            )
        )
    if c.is_partner_or_applicant:
        out.append(
            Refusal(
                rule="customer_is_partner",
                message=f"customer {c.id} is a partner or is applying to be one: "
                "it cannot become a sub-customer",
            )
        )
    if active_binding is not None and active_binding.partner_id != partner.id:
        out.append(
            Refusal(
                rule="bound_to_other_partner",
                message=f"customer {c.id} is bound to another partner: a customer has one partner; "
                "it must be unbound there first",
            )
        )
    if c.has_special_contract:
        out.append(
            Refusal(
                rule="special_contract",
                message=f"customer {c.id} has a special contract: it cannot be bound to a partner",
            )
        )
    if c.reported_by_direct_sales:
        out.append(
            Refusal(
                rule="reported_by_direct_sales",
                message=f"customer {c.id} was reported by the vendor's direct sales: "
                "it cannot be bound to a partner",
            )
        )
    if c.in_reward_programme:
        out.append(
            Refusal(
                rule="in_reward_programme",
                message=f"customer {c.id} is in the vendor's reward-promotion programme: "
                "it cannot be bound to a partner",
            )
        )
    if mode == AssociationMode.RESALE:
        resale_blocks = [
            (
                c.enterprise_role in ("master", "member"),
                "enterprise_account",
                f"is an enterprise {c.enterprise_role} account",
            ),
            (c.has_recharge_bonus, "recharge_bonus", "has an unused recharge-bonus balance"),
            (c.has_stored_value_card, "stored_value_card", "has an unused stored-value card"),
            (c.has_reserved_instances, "reserved_instances", "has valid reserved instances"),
        ]
        for blocked, rule, what in resale_blocks:
            if blocked:
                out.append(
                    Refusal(
                        rule=rule,
                        message=f"customer {c.id} {what}: it cannot be bound in resale mode; "
                        "invite it in consulting mode, or once that is cleared",
                    )
                )
    return out


def already_bound_here(partner_id: str, active_binding: BindingSnapshot | None) -> bool:
    """The customer is already bound to this partner: nothing to do."""
    return active_binding is not None and active_binding.partner_id == partner_id


def describe_refusals(refusals: list[Refusal]) -> str:
    """One sentence per refusal, for messages and emails."""
    return "; ".join(r.message for r in refusals)
