"""The rules of docs/unbinding.md as pure functions: who raises and decides, the pre-checks, the
frequency limit, switching to resale, balance recovery and voucher disposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain.invitations import Refusal
from domain.parties import (
    Actor,
    AssociationMode,
    CustomerSnapshot,
    PartnerSnapshot,
    PartnerStatus,
    PartnerType,
    Role,
)
from domain.unbinding import (
    BindingFacts,
    ChangeContext,
    ChangeKind,
    ChangeRequest,
    DispositionAction,
    FrequencyLimit,
    HeldVoucher,
    Initiator,
    RequestStatus,
    VoucherIssuer,
    VoucherKind,
    add_months,
    approval_refusals,
    canceller_refusal,
    decider_refusal,
    disposition_for,
    ends_without_approval,
    initiator_of,
    lapse_outcome,
    next_request_allowed_at,
    precheck_refusals,
    recoverable_amount,
    recovers_balance,
    request_refusals,
)

NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)
ADMIN = Actor(user_id="pa", role=Role.PARTNER_ADMIN, partner_id="P-1")
STAFF = Actor(user_id="ps", role=Role.PARTNER_STAFF, partner_id="P-1")
OTHER_ADMIN = Actor(user_id="pa2", role=Role.PARTNER_ADMIN, partner_id="P-2")
CUSTOMER = Actor(user_id="C-1", role=Role.CUSTOMER, customer_id="C-1")
OTHER_CUSTOMER = Actor(user_id="C-2", role=Role.CUSTOMER, customer_id="C-2")
OPS = Actor(user_id="ops", role=Role.OPS)


def binding(mode: AssociationMode = AssociationMode.RESALE, status: str = "active") -> BindingFacts:
    return BindingFacts(id=7, partner_id="P-1", customer_id="C-1", mode=mode, status=status)


def partner(**kw: Any) -> PartnerSnapshot:
    values: dict[str, Any] = dict(
        id="P-1",
        company_name="P-1 Co",
        uscc="91350100M000100Y43",
        contact_email="p@x.test",
        type=PartnerType.SOLUTION_PROVIDER,
        status=PartnerStatus.ACTIVE,
        consulting_permission=True,
    )
    values.update(kw)
    return PartnerSnapshot(**values)


def customer(**kw: Any) -> CustomerSnapshot:
    return CustomerSnapshot(id="C-1", name="C-1 Ltd", email="c@x.test", **kw)


def context(b: BindingFacts | None = None, **kw: Any) -> ChangeContext:
    return ChangeContext(binding=b or binding(), partner=partner(), customer=customer(**kw))


def unbind(actor: Actor = ADMIN, **kw: Any) -> ChangeRequest:
    return ChangeRequest(binding_id=7, kind=ChangeKind.UNBIND, requested_by=actor, **kw)


def rules(refusals: list[Refusal]) -> list[str]:
    return [r.rule for r in refusals]


# ----- who raises, who decides, who withdraws ------------------------------------------------


def test_partner_admin_raises_for_the_partner_and_the_customer_for_itself() -> None:
    assert initiator_of(ADMIN, binding()) == Initiator.PARTNER
    assert initiator_of(CUSTOMER, binding()) == Initiator.CUSTOMER


def test_partner_staff_is_refused_with_the_admin_only_rule() -> None:
    refusal = initiator_of(STAFF, binding())
    assert isinstance(refusal, Refusal) and refusal.rule == "partner_admin_only"
    assert "only a partner_admin of P-1" in refusal.message


@pytest.mark.parametrize("actor", [OTHER_ADMIN, OTHER_CUSTOMER, OPS])
def test_strangers_cannot_raise_a_request(actor: Actor) -> None:
    refusal = initiator_of(actor, binding())
    assert isinstance(refusal, Refusal) and refusal.rule == "not_a_party"


def test_a_stranger_learns_nothing_about_the_customer() -> None:
    ctx = context(in_arrears=True)
    assert rules(request_refusals(ctx, unbind(OTHER_ADMIN), NOW)) == ["not_a_party"]


def test_the_other_side_decides() -> None:
    b = binding()
    assert decider_refusal(CUSTOMER, Initiator.PARTNER, b) is None
    assert decider_refusal(OTHER_CUSTOMER, Initiator.PARTNER, b) is not None
    assert decider_refusal(ADMIN, Initiator.PARTNER, b) is not None
    assert decider_refusal(ADMIN, Initiator.CUSTOMER, b) is None
    staff = decider_refusal(STAFF, Initiator.CUSTOMER, b)
    assert staff is not None and staff.rule == "partner_admin_decides"
    assert decider_refusal(CUSTOMER, Initiator.CUSTOMER, b) is not None


def test_the_raising_side_or_ops_withdraws() -> None:
    b = binding()
    assert canceller_refusal(ADMIN, Initiator.PARTNER, b) is None
    assert canceller_refusal(OPS, Initiator.PARTNER, b) is None
    assert canceller_refusal(CUSTOMER, Initiator.PARTNER, b) is not None
    assert canceller_refusal(CUSTOMER, Initiator.CUSTOMER, b) is None
    assert canceller_refusal(ADMIN, Initiator.CUSTOMER, b) is not None


# ----- what may be asked ---------------------------------------------------------------------


def test_a_customer_may_only_ask_to_be_unbound() -> None:
    req = ChangeRequest(
        binding_id=7,
        kind=ChangeKind.SWITCH_MODE,
        to_mode=AssociationMode.CONSULTING,
        requested_by=CUSTOMER,
    )
    assert rules(request_refusals(context(), req, NOW)) == ["customer_cannot_switch"]


def test_switching_to_the_same_mode_is_refused() -> None:
    req = ChangeRequest(
        binding_id=7,
        kind=ChangeKind.SWITCH_MODE,
        to_mode=AssociationMode.RESALE,
        requested_by=ADMIN,
    )
    assert rules(request_refusals(context(), req, NOW)) == ["same_mode"]


def test_a_switch_needs_a_target_mode_and_an_unbind_has_none() -> None:
    with pytest.raises(ValidationError, match="to_mode"):
        ChangeRequest(binding_id=7, kind=ChangeKind.SWITCH_MODE, requested_by=ADMIN)
    with pytest.raises(ValidationError, match="to_mode"):
        unbind(to_mode=AssociationMode.RESALE)


def test_switching_to_resale_is_refused_for_a_credit_account() -> None:
    req = ChangeRequest(
        binding_id=7,
        kind=ChangeKind.SWITCH_MODE,
        to_mode=AssociationMode.RESALE,
        requested_by=ADMIN,
    )
    ctx = context(binding(AssociationMode.CONSULTING), has_credit_account=True)
    refusals = request_refusals(ctx, req, NOW)
    assert rules(refusals) == ["credit_account_no_resale"]
    assert "switched to resale" in refusals[0].message
    # ...but a credit account may stay in, or switch to, consulting.
    back = ChangeRequest(
        binding_id=7,
        kind=ChangeKind.SWITCH_MODE,
        to_mode=AssociationMode.CONSULTING,
        requested_by=ADMIN,
    )
    assert request_refusals(context(has_credit_account=True), back, NOW) == []


def test_switching_to_consulting_needs_the_partners_permission() -> None:
    req = ChangeRequest(
        binding_id=7,
        kind=ChangeKind.SWITCH_MODE,
        to_mode=AssociationMode.CONSULTING,
        requested_by=ADMIN,
    )
    ctx = context()
    ctx.partner = partner(consulting_permission=False)
    assert rules(request_refusals(ctx, req, NOW)) == ["consulting_not_permitted"]


def test_an_ended_binding_cannot_be_changed() -> None:
    assert rules(request_refusals(context(binding(status="ended")), unbind(), NOW)) == [
        "binding_ended"
    ]
    assert rules(request_refusals(ChangeContext(binding=None), unbind(), NOW)) == [
        "binding_not_found"
    ]


# ----- pre-checks ----------------------------------------------------------------------------

PRECHECKS = [
    ({"in_arrears": True}, "arrears"),
    ({"account_frozen": True}, "account_frozen"),
    ({"has_reserved_instances": True}, "reserved_instances_or_support_plan"),
    ({"has_support_plan": True}, "reserved_instances_or_support_plan"),
    (
        {"enterprise_role": "master", "enterprise_has_independent_members": True},
        "enterprise_master_with_members",
    ),
    ({"has_special_contract": True}, "special_contract"),
    ({"has_orders_awaiting_partner_payment": True}, "orders_awaiting_partner_payment"),
    ({"has_unused_pickup_vouchers": True}, "unused_pickup_vouchers"),
]


@pytest.mark.parametrize(("facts", "rule"), PRECHECKS, ids=[r for _, r in PRECHECKS])
def test_each_precheck_refuses_naming_the_item(facts: dict[str, Any], rule: str) -> None:
    refusals = precheck_refusals(customer(**facts))
    assert rules(refusals) == [rule]
    assert refusals[0].message.startswith("customer C-1 ")
    assert rules(request_refusals(context(**facts), unbind(), NOW)) == [rule]
    assert rules(request_refusals(context(**facts), unbind(CUSTOMER), NOW)) == [rule]


def test_an_enterprise_master_without_independent_members_and_a_member_pass() -> None:
    assert precheck_refusals(customer(enterprise_role="master")) == []
    assert (
        precheck_refusals(
            customer(enterprise_role="member", enterprise_has_independent_members=True)
        )
        == []
    )


def test_every_blocking_item_is_listed() -> None:
    facts = {"in_arrears": True, "account_frozen": True, "has_unused_pickup_vouchers": True}
    assert rules(precheck_refusals(customer(**facts))) == [
        "arrears",
        "account_frozen",
        "unused_pickup_vouchers",
    ]


# ----- frequency limit -----------------------------------------------------------------------


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), 3) == datetime(2026, 4, 15, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 5, 31, tzinfo=UTC), 1) == datetime(2026, 6, 30, tzinfo=UTC)


def test_one_request_per_three_months_by_default() -> None:
    earlier = NOW - timedelta(days=10)
    assert next_request_allowed_at([earlier], NOW, 3, 1) == add_months(earlier, 3)
    assert next_request_allowed_at([NOW - timedelta(days=93)], NOW, 3, 1) is None
    assert next_request_allowed_at([], NOW, 3, 1) is None


def test_the_international_limit_allows_three() -> None:
    times = [NOW - timedelta(days=d) for d in (80, 40, 5)]
    assert next_request_allowed_at(times[1:], NOW, 3, 3) is None
    assert next_request_allowed_at(times, NOW, 3, 3) == add_months(times[0], 3)


def test_the_frequency_refusal_gives_the_date_and_counts_each_side_apart() -> None:
    earlier = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    ctx = context()
    ctx.partner_request_times = [earlier]
    refusals = request_refusals(ctx, unbind(), NOW)
    assert rules(refusals) == ["frequency_limit"]
    assert "2026-08-01 09:30 UTC" in refusals[0].message
    # the customer's own allowance is separate
    assert request_refusals(ctx, unbind(CUSTOMER), NOW) == []
    roomy = unbind(frequency=FrequencyLimit(max_partner_requests=3))
    assert request_refusals(ctx, roomy, NOW) == []


def test_a_clean_request_passes() -> None:
    assert request_refusals(context(), unbind(), NOW) == []
    assert request_refusals(context(), unbind(CUSTOMER), NOW) == []


# ----- outcomes ------------------------------------------------------------------------------


def test_a_lapsed_partner_request_lapses_and_a_customer_request_is_approved() -> None:
    assert lapse_outcome(Initiator.PARTNER) == RequestStatus.LAPSED
    assert lapse_outcome(Initiator.CUSTOMER) == RequestStatus.APPROVED


def test_the_international_immediate_unbind_applies_to_partner_consulting_unbinds_only() -> None:
    on = unbind(immediate_consulting_unbind=True)
    assert ends_without_approval(on, Initiator.PARTNER, AssociationMode.CONSULTING)
    assert not ends_without_approval(on, Initiator.PARTNER, AssociationMode.RESALE)
    assert not ends_without_approval(on, Initiator.CUSTOMER, AssociationMode.CONSULTING)
    assert not ends_without_approval(unbind(), Initiator.PARTNER, AssociationMode.CONSULTING)


def test_leaving_resale_recovers_the_whole_unused_allocation() -> None:
    assert recovers_balance(AssociationMode.RESALE)
    assert not recovers_balance(AssociationMode.CONSULTING)
    assert recoverable_amount(Decimal("1234.5")) == Decimal("1234.50")
    assert recoverable_amount(Decimal("-3")) == Decimal("0.00")


def voucher(kind: VoucherKind, issuer: VoucherIssuer, partner_id: str | None = None) -> HeldVoucher:
    return HeldVoucher(
        id="V", kind=kind, issuer=issuer, issuer_partner_id=partner_id, balance=Decimal("10")
    )


def test_voucher_dispositions() -> None:
    v, c = VoucherKind.VOUCHER, VoucherKind.CASH_COUPON
    p, vendor = VoucherIssuer.PARTNER, VoucherIssuer.VENDOR
    assert disposition_for(voucher(v, p, "P-1"), "P-1") == DispositionAction.RECALLED
    assert disposition_for(voucher(v, vendor), "P-1") == DispositionAction.KEPT
    assert disposition_for(voucher(c, p, "P-1"), "P-1") == DispositionAction.RETURNED_TO_ISSUER
    assert disposition_for(voucher(c, vendor), "P-1") == DispositionAction.RETURNED_TO_ISSUER
    assert disposition_for(voucher(v, p, "P-9"), "P-1") is None


def test_an_approval_is_rechecked_against_fresh_facts() -> None:
    req = unbind()
    assert approval_refusals(context(), req, AssociationMode.RESALE) == []
    assert rules(approval_refusals(context(in_arrears=True), req, AssociationMode.RESALE)) == [
        "arrears"
    ]
    assert rules(approval_refusals(context(), req, AssociationMode.CONSULTING)) == ["mode_changed"]
    ended = context(binding(status="ended"))
    assert rules(approval_refusals(ended, req, AssociationMode.RESALE)) == ["binding_ended"]
