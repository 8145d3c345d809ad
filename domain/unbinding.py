"""Unbinding and association-type switch (解除关联 / 切换关联类型): payloads and the rules of
docs/unbinding.md, as pure functions the workflow, the activities and the CLI share."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from domain.invitations import Refusal, binding_refusals
from domain.parties import (
    Actor,
    AssociationMode,
    BindingSnapshot,
    CustomerSnapshot,
    PartnerSnapshot,
    Role,
)
from domain.text import N_, MarkedError
from domain.types import DECISION_TIMEOUT, BusinessDuration, BusinessOffset

ZERO = Decimal("0.00")
_PARTY_GONE = Refusal(rule="party_not_found", message="the binding's partner or customer is gone")


class ChangeKind(StrEnum):
    """What the request changes."""

    UNBIND = "unbind"
    SWITCH_MODE = "switch_mode"


class Initiator(StrEnum):
    """Which side raised the request; the other side decides."""

    PARTNER = "partner"
    CUSTOMER = "customer"


class RequestStatus(StrEnum):
    """Lifecycle of one change request."""

    CHECKING = "CHECKING"
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    LAPSED = "LAPSED"  # partner-initiated, the customer did not answer: binding unchanged
    CANCELLED = "CANCELLED"
    REFUSED = "REFUSED"  # a rule refused it, when raised or when the approval was applied


FINAL_STATUSES = frozenset(RequestStatus) - {RequestStatus.CHECKING, RequestStatus.PENDING}


class VoucherKind(StrEnum):
    """What a customer may hold besides cash."""

    VOUCHER = "voucher"
    CASH_COUPON = "cash_coupon"


class VoucherIssuer(StrEnum):
    """Who issued a voucher or coupon."""

    PARTNER = "partner"
    VENDOR = "vendor"


class DispositionAction(StrEnum):
    """What unbinding does with a voucher or coupon (the vendor's rule)."""

    RECALLED = "recalled"  # the partner's voucher goes back to the partner
    KEPT = "kept"  # the vendor's voucher stays with the customer
    RETURNED_TO_ISSUER = "returned_to_issuer"  # a cash coupon goes back to whoever issued it


class FrequencyLimit(BaseModel):
    """How many requests each side may raise per customer in a window (the vendor's rule)."""

    window_months: int = Field(3, ge=1)
    max_partner_requests: int = Field(1, ge=1)  # international site: 3
    max_customer_requests: int = Field(1, ge=1)  # international site: 3


class ChangeRequest(BaseModel):
    """Input of the unbinding workflow. Durations default to production values."""

    binding_id: int
    kind: ChangeKind
    to_mode: AssociationMode | None = None  # switch only
    requested_by: Actor
    reason: str | None = Field(None, max_length=1000)
    approval_window: BusinessDuration = timedelta(days=7)
    reminder_before: BusinessOffset = timedelta(days=1)
    frequency: FrequencyLimit = Field(default_factory=FrequencyLimit)
    # The international site ends a consulting binding without the customer (the vendor's rule).
    immediate_consulting_unbind: bool = False
    # How long a decision may wait for its activities before it is refused (workflows/guard.py).
    decision_timeout: BusinessDuration = DECISION_TIMEOUT

    @model_validator(mode="after")
    def _target_mode_only_for_switch(self) -> ChangeRequest:
        if self.kind == ChangeKind.SWITCH_MODE and self.to_mode is None:
            raise MarkedError(N_("a switch_mode request needs to_mode (consulting or resale)"))
        if self.kind == ChangeKind.UNBIND and self.to_mode is not None:
            raise MarkedError(N_("an unbind request has no to_mode"))
        return self


class BindingFacts(BindingSnapshot):
    """The binding as the change rules read it (with the partner's allocation)."""

    allocated_balance: Decimal = ZERO


class Contact(BaseModel):
    """A person to email (a partner admin who may decide a customer's request)."""

    user_id: str
    name: str
    email: str


class ChangeContext(BaseModel):
    """Fresh facts for the rules, loaded by an activity (and by the CLI's pre-check)."""

    binding: BindingFacts | None
    partner: PartnerSnapshot | None = None
    customer: CustomerSnapshot | None = None
    # When earlier requests for this customer were raised, per side (frequency limit).
    partner_request_times: list[datetime] = Field(default_factory=list)
    customer_request_times: list[datetime] = Field(default_factory=list)
    partner_admins: list[Contact] = Field(default_factory=list)


class HeldVoucher(BaseModel):
    """A voucher or coupon the customer holds."""

    id: str
    kind: VoucherKind
    issuer: VoucherIssuer
    issuer_partner_id: str | None = None
    balance: Decimal


class Disposition(BaseModel):
    """What unbinding did with one voucher or coupon."""

    voucher_id: str
    action: DispositionAction
    kind: VoucherKind
    issuer: VoucherIssuer
    issuer_partner_id: str | None = None
    amount: Decimal


class ChangeRequestView(BaseModel):
    """What the ``status`` query and the decision updates return."""

    workflow_id: str
    request_id: int | None = None
    binding_id: int
    partner_id: str | None = None
    customer_id: str | None = None
    kind: ChangeKind
    initiator: Initiator | None = None
    mode: AssociationMode | None = None  # the binding's mode when the request was raised
    to_mode: AssociationMode | None = None
    status: RequestStatus
    requested_by: str
    request_reason: str | None = None  # why the request was raised
    expires_at: datetime | None = None
    decision: str | None = None  # approve | reject | cancel | lapse, once someone decided
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    auto_decided: bool = False
    reason: str | None = None  # what happened and why, in a sentence (as InvitationView)
    refusals: list[Refusal] = Field(default_factory=list)
    recovered_amount: Decimal | None = None
    dispositions: list[Disposition] = Field(default_factory=list)


# ----- who may raise and who decides ------------------------------------------------------


def initiator_of(actor: Actor, binding: BindingSnapshot) -> Initiator | Refusal:
    """The side the actor raises the request for, or why the actor may not raise one.

    Only the partner's ``partner_admin`` may unbind or switch (the vendor's rule); the customer itself may
    ask to be unbound.
    """
    if actor.role == Role.PARTNER_ADMIN and actor.partner_id == binding.partner_id:
        return Initiator.PARTNER
    if actor.is_customer(binding.customer_id):
        return Initiator.CUSTOMER
    if actor.role == Role.PARTNER_STAFF and actor.partner_id == binding.partner_id:
        return Refusal(
            rule="partner_admin_only",
            message=f"{actor.describe()} is partner staff: only a partner_admin of "
            f"{binding.partner_id} may unbind a customer or switch its association type; "
            "ask your partner administrator",
        )
    return Refusal(
        rule="not_a_party",
        message=f"{actor.describe()} is neither an admin of partner {binding.partner_id} nor "
        f"customer {binding.customer_id}: only they may raise a request on binding {binding.id}",
    )


def decider_refusal(actor: Actor, initiator: Initiator, binding: BindingSnapshot) -> Refusal | None:
    """Whether the actor may approve or reject: the side that did not raise the request."""
    if initiator == Initiator.PARTNER:
        if actor.is_customer(binding.customer_id):
            return None
        return Refusal(
            rule="customer_decides",
            message=f"only customer {binding.customer_id} may decide on this request "
            f"of partner {binding.partner_id}, not {actor.describe()}",
        )
    if actor.role == Role.PARTNER_ADMIN and actor.partner_id == binding.partner_id:
        return None
    return Refusal(
        rule="partner_admin_decides",
        message=f"only a partner_admin of {binding.partner_id} may decide on customer "
        f"{binding.customer_id}'s request, not {actor.describe()}",
    )


def canceller_refusal(
    actor: Actor, initiator: Initiator, binding: BindingSnapshot
) -> Refusal | None:
    """Whether the actor may withdraw the request: its own side, or ops."""
    if actor.role == Role.OPS:
        return None
    mine = (
        actor.role == Role.PARTNER_ADMIN and actor.partner_id == binding.partner_id
        if initiator == Initiator.PARTNER
        else actor.is_customer(binding.customer_id)
    )
    if mine:
        return None
    return Refusal(
        rule="not_initiator",
        message=f"only the side that raised the request ({initiator.value}) or ops may "
        f"withdraw it, not {actor.describe()}",
    )


def approver_role(initiator: Initiator) -> Role:
    """Who the approval task is assigned to."""
    return Role.CUSTOMER if initiator == Initiator.PARTNER else Role.PARTNER_ADMIN


# ----- what a request may ask ---------------------------------------------------------------


def kind_refusal(
    initiator: Initiator,
    kind: ChangeKind,
    to_mode: AssociationMode | None,
    binding: BindingSnapshot,
) -> Refusal | None:
    """A customer may only ask to be unbound; a switch must change the mode."""
    if kind == ChangeKind.SWITCH_MODE and initiator == Initiator.CUSTOMER:
        return Refusal(
            rule="customer_cannot_switch",
            message="only the partner's admin may switch the association type; a customer may "
            "ask to be unbound",
        )
    if kind == ChangeKind.SWITCH_MODE and to_mode == binding.mode:
        return Refusal(
            rule="same_mode",
            message=f"binding {binding.id} is already in {binding.mode.value} mode: "
            "nothing to switch",
        )
    return None


def switch_to_resale_refusal(customer: CustomerSnapshot) -> Refusal | None:
    """A customer with a credit account cannot be switched to resale [seed rule applied]."""
    if not customer.has_credit_account:
        return None
    return Refusal(
        rule="credit_account_no_resale",
        message=f"customer {customer.id} has a credit account: it cannot be switched to resale "
        "mode; keep it in consulting mode",
    )


def switch_refusals(
    partner: PartnerSnapshot,
    customer: CustomerSnapshot,
    binding: BindingSnapshot,
    to_mode: AssociationMode,
) -> list[Refusal]:
    """Eligibility for the target mode, re-checked as for a new binding in that mode."""
    out: list[Refusal] = []
    if to_mode == AssociationMode.RESALE:
        credit = switch_to_resale_refusal(customer)
        if credit is not None:
            out.append(credit)
    # The binding itself is with this partner, so "bound elsewhere" cannot fire here.
    out.extend(
        r
        for r in binding_refusals(partner, customer, to_mode, binding)
        if r.rule != "credit_account_no_resale"
    )
    return out


def precheck_refusals(customer: CustomerSnapshot) -> list[Refusal]:
    """The items that block any unbind or switch request, each with what to fix (the vendor's rule)."""
    c = customer
    checks = [
        (c.in_arrears, "arrears", "is in arrears: settle the outstanding bills first"),
        (c.account_frozen, "account_frozen", "has a frozen account: have it unfrozen first"),
        (
            c.has_reserved_instances or c.has_support_plan,
            "reserved_instances_or_support_plan",
            "has valid reserved instances or a support plan: raise the request after they end, "
            "or release them",
        ),
        (
            c.enterprise_role == "master" and c.enterprise_has_independent_members,
            "enterprise_master_with_members",
            "is an enterprise master account with independently accounted members: remove the "
            "members or make them unified accounting first",
        ),
        (
            c.has_special_contract,
            "special_contract",
            "has an effective special contract: the request is possible once it has ended",
        ),
        (
            c.has_orders_awaiting_partner_payment,
            "orders_awaiting_partner_payment",
            "has orders awaiting the partner's payment: pay or cancel them first",
        ),
        (
            c.has_unused_pickup_vouchers,
            "unused_pickup_vouchers",
            "has unused pickup vouchers: use them or let them expire first",
        ),
    ]
    return [
        Refusal(rule=rule, message=f"customer {c.id} {what}")
        for blocked, rule, what in checks
        if blocked
    ]


# ----- frequency limit ------------------------------------------------------------------------


def add_months(at: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months later (the last day if that month is shorter)."""
    years, month0 = divmod(at.month - 1 + months, 12)
    year, month = at.year + years, month0 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def next_request_allowed_at(
    earlier: list[datetime], now: datetime, window_months: int, max_requests: int
) -> datetime | None:
    """When the next request becomes possible; None if it is possible now.

    Only requests raised within the last ``window_months`` count; once ``max_requests`` of
    them exist, the next is possible when the oldest of the last ``max_requests`` leaves the
    window.
    """
    recent = sorted(t for t in earlier if add_months(t, window_months) > now)
    if len(recent) < max_requests:
        return None
    return add_months(recent[len(recent) - max_requests], window_months)


def frequency_refusal(
    initiator: Initiator, ctx: ChangeContext, now: datetime, limit: FrequencyLimit
) -> Refusal | None:
    """One unbind/switch request per side per customer per 3 months by default (the vendor's rule)."""
    if initiator == Initiator.PARTNER:
        times, max_n, who = ctx.partner_request_times, limit.max_partner_requests, "the partner"
    else:
        times, max_n, who = ctx.customer_request_times, limit.max_customer_requests, "the customer"
    allowed_at = next_request_allowed_at(times, now, limit.window_months, max_n)
    if allowed_at is None:
        return None
    per = "one request" if max_n == 1 else f"{max_n} requests"
    return Refusal(
        rule="frequency_limit",
        message=f"{who} may raise {per} per {limit.window_months} months for this customer: "
        f"the next request is possible on {allowed_at:%Y-%m-%d %H:%M} UTC",
    )


# ----- the whole check when a request is raised, and again when it is approved ---------------


def request_refusals(ctx: ChangeContext, req: ChangeRequest, now: datetime) -> list[Refusal]:
    """Every rule that refuses this request now (empty: it may be raised).

    Who raises it is checked first and alone: a stranger learns nothing about the customer.
    """
    b = ctx.binding
    if b is None:
        return [Refusal(rule="binding_not_found", message=f"there is no binding {req.binding_id}")]
    who = initiator_of(req.requested_by, b)
    if isinstance(who, Refusal):
        return [who]
    if b.status != "active":
        return [
            Refusal(
                rule="binding_ended",
                message=f"binding {b.id} has ended: there is nothing to unbind or switch",
            )
        ]
    if ctx.partner is None or ctx.customer is None:
        return [_PARTY_GONE]
    kind = kind_refusal(who, req.kind, req.to_mode, b)
    if kind is not None:
        return [kind]
    out: list[Refusal] = []
    if req.kind == ChangeKind.SWITCH_MODE and req.to_mode is not None:
        out.extend(switch_refusals(ctx.partner, ctx.customer, b, req.to_mode))
    out.extend(precheck_refusals(ctx.customer))
    freq = frequency_refusal(who, ctx, now, req.frequency)
    if freq is not None:
        out.append(freq)
    return out


def approval_refusals(
    ctx: ChangeContext, req: ChangeRequest, mode_when_raised: AssociationMode
) -> list[Refusal]:
    """Re-checked with fresh data before an approval takes effect (not the frequency limit:
    the request was counted when it was raised)."""
    b = ctx.binding
    if b is None or b.status != "active":
        return [
            Refusal(rule="binding_ended", message=f"binding {req.binding_id} has ended meanwhile")
        ]
    if b.mode != mode_when_raised:
        return [
            Refusal(
                rule="mode_changed",
                message=f"binding {b.id} changed to {b.mode.value} mode meanwhile; raise a new "
                "request if still needed",
            )
        ]
    if ctx.partner is None or ctx.customer is None:
        return [_PARTY_GONE]
    out: list[Refusal] = []
    if req.kind == ChangeKind.SWITCH_MODE and req.to_mode is not None:
        out.extend(switch_refusals(ctx.partner, ctx.customer, b, req.to_mode))
    out.extend(precheck_refusals(ctx.customer))
    return out


# ----- outcomes ---------------------------------------------------------------------------------


def lapse_outcome(initiator: Initiator) -> RequestStatus:
    """No answer in the window: a partner's request lapses, a customer's is approved, since a
    customer may always leave (PartnerFlow's default)."""
    return RequestStatus.LAPSED if initiator == Initiator.PARTNER else RequestStatus.APPROVED


def ends_without_approval(req: ChangeRequest, initiator: Initiator, mode: AssociationMode) -> bool:
    """The international-site rule: a partner ends a consulting binding at once (the vendor's rule)."""
    return (
        req.immediate_consulting_unbind
        and initiator == Initiator.PARTNER
        and req.kind == ChangeKind.UNBIND
        and mode == AssociationMode.CONSULTING
    )


def recovers_balance(mode: AssociationMode) -> bool:
    """An approved change that ends a resale association first takes back the partner's
    unused allocation [ours, from the seed's allocation/recovery]: unbinding a resale customer,
    or switching it to consulting, where it no longer consumes the partner's allocation."""
    return mode == AssociationMode.RESALE


def recoverable_amount(allocated_balance: Decimal) -> Decimal:
    """The whole unused allocation; nothing when none is left."""
    return max(ZERO, Decimal(allocated_balance)).quantize(Decimal("0.01"))


def disposition_for(voucher: HeldVoucher, partner_id: str) -> DispositionAction | None:
    """What unbinding from ``partner_id`` does with a voucher or coupon (the vendor's rule).

    The partner's vouchers are recalled, the vendor's stay, cash coupons go back to their
    issuer. Items another partner issued are not this unbinding's business (None).
    """
    if voucher.issuer == VoucherIssuer.PARTNER and voucher.issuer_partner_id != partner_id:
        return None
    if voucher.kind == VoucherKind.CASH_COUPON:
        return DispositionAction.RETURNED_TO_ISSUER
    if voucher.issuer == VoucherIssuer.PARTNER:
        return DispositionAction.RECALLED
    return DispositionAction.KEPT


def describe_change(kind: ChangeKind, to_mode: AssociationMode | None) -> str:
    """``unbinding`` or ``switch to resale mode``, for titles and emails."""
    if kind == ChangeKind.UNBIND or to_mode is None:
        return "unbinding"
    return f"switch to {to_mode.value} mode"
