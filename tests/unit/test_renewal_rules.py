"""The pure rules of docs/renewals.md: scan selection, partner payment, timings, authorization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.authorizations import (
    AuthorizationContext,
    AuthorizationStatus,
    Contact,
    authorization_refusals,
    decider_refusal,
    is_reusable,
    requester_refusal,
)
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
from domain.renewals import (
    Billing,
    RenewalFeedback,
    RenewalOutcome,
    RenewalPolicy,
    SubscriptionSnapshot,
    escalation_time,
    feedback_input_refusal,
    is_renewal_candidate,
    is_renewed,
    needs_customer_authorization,
    not_a_candidate_because,
    partner_payment_refusal,
    reminder_times,
    renewal_workflow_id,
)

NOW = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
POLICY = RenewalPolicy()
D = timedelta(days=1)


def sub(
    *,
    amount: str = "60000.00",
    billing: Billing = Billing.YEARLY,
    ahead: timedelta = 10 * D,
    auto: bool = False,
) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(
        order_id="O-1",
        customer_id="C-1",
        product="ECS",
        amount=Decimal(amount),
        billing=billing,
        expires_at=NOW + ahead,
        auto_renew=auto,
    )


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("50000.00", True), ("49999.99", False), ("50000.01", True), ("1000000.00", True)],
)
def test_threshold_is_inclusive(amount: str, expected: bool) -> None:
    assert is_renewal_candidate(sub(amount=amount), "P-1", NOW, POLICY) is expected


@pytest.mark.parametrize(
    ("billing", "ahead", "expected"),
    [
        (Billing.YEARLY, 30 * D, True),  # the window's last moment is in
        (Billing.YEARLY, 30 * D + timedelta(seconds=1), False),
        (Billing.YEARLY, 8 * D, True),
        (Billing.MONTHLY, 7 * D, True),
        (Billing.MONTHLY, 8 * D, False),  # a yearly order would be in
        (Billing.MONTHLY, timedelta(hours=1), True),
        (Billing.YEARLY, timedelta(0), False),  # expires right now: too late
        (Billing.YEARLY, -D, False),
    ],
)
def test_lead_window_per_billing_kind(billing: Billing, ahead: timedelta, expected: bool) -> None:
    assert is_renewal_candidate(sub(billing=billing, ahead=ahead), "P-1", NOW, POLICY) is expected


def test_auto_renew_and_unbound_customers_need_no_task() -> None:
    assert "auto-renew is on" in (not_a_candidate_because(sub(auto=True), "P-1", NOW, POLICY) or "")
    assert "not bound" in (not_a_candidate_because(sub(), None, NOW, POLICY) or "")


def test_policy_parameters_come_from_settings() -> None:
    policy = RenewalPolicy(threshold=Decimal("100000"), yearly_lead=45 * D, monthly_lead=10 * D)
    assert not is_renewal_candidate(sub(amount="60000.00"), "P-1", NOW, policy)
    assert is_renewal_candidate(sub(amount="100000.00", ahead=44 * D), "P-1", NOW, policy)
    assert policy.longest_lead == 45 * D


def test_workflow_id_is_order_and_expiry_date_in_utc() -> None:
    shanghai_midnight = datetime(2027, 4, 1, 16, 30, tzinfo=UTC)
    assert renewal_workflow_id("O-7", shanghai_midnight) == "renewal-O-7-20270401"


def test_renewed_when_expiry_moves_later() -> None:
    s = sub()
    assert is_renewed(s.expires_at, s.model_copy(update={"expires_at": s.expires_at + D}))
    assert not is_renewed(s.expires_at, s)
    assert not is_renewed(s.expires_at, None)


@pytest.mark.parametrize(
    ("ptype", "mode", "allowed"),
    [
        (PartnerType.SOLUTION_PROVIDER, AssociationMode.CONSULTING, True),
        (PartnerType.SOLUTION_PROVIDER, AssociationMode.RESALE, True),
        (PartnerType.CLOUD_RESELLER, AssociationMode.RESALE, True),
        (PartnerType.CLOUD_RESELLER, AssociationMode.CONSULTING, False),
        (PartnerType.DISTRIBUTOR, AssociationMode.RESALE, False),
    ],
)
def test_partner_payment_rule(ptype: PartnerType, mode: AssociationMode, allowed: bool) -> None:
    refusal = partner_payment_refusal(ptype, mode, "P-1", "C-1")
    assert (refusal is None) is allowed
    if refusal:
        assert "record will_renew or customer_declines instead" in refusal


def test_only_resale_customers_authorize_orders() -> None:
    assert needs_customer_authorization(AssociationMode.RESALE)
    assert not needs_customer_authorization(AssociationMode.CONSULTING)


def test_reminders_ahead_of_creation_only() -> None:
    expires = NOW + 16 * D
    befores = [15 * D, 7 * D, D]
    assert [d.days for d, _ in reminder_times(expires, NOW, befores)] == [15, 7, 1]
    late = reminder_times(expires, NOW + 9.5 * D, befores)
    assert [d.days for d, _ in late] == [1]
    # exactly at a reminder point: the task email is the notice, no reminder on top
    assert [d.days for d, _ in reminder_times(expires, expires - 7 * D, befores)] == [1]


def test_escalation_only_if_the_point_is_still_ahead() -> None:
    expires = NOW + 20 * D
    assert escalation_time(expires, NOW, 7 * D) == expires - 7 * D
    assert escalation_time(expires, expires - 7 * D, 7 * D) is None  # monthly: 7-day lead


def test_decline_needs_a_reason() -> None:
    staff = Actor(user_id="u", role=Role.PARTNER_STAFF, partner_id="P-1")
    blank = RenewalFeedback(actor=staff, outcome=RenewalOutcome.CUSTOMER_DECLINES, reason="  ")
    assert blank.reason is None and feedback_input_refusal(blank) is not None
    ok = RenewalFeedback(actor=staff, outcome=RenewalOutcome.CUSTOMER_DECLINES, reason="budget")
    assert feedback_input_refusal(ok) is None
    assert (
        feedback_input_refusal(RenewalFeedback(actor=staff, outcome=RenewalOutcome.WILL_RENEW))
        is None
    )


# ----- authorization ---------------------------------------------------------------------


def partner(ptype: PartnerType = PartnerType.SOLUTION_PROVIDER, **kw: object) -> PartnerSnapshot:
    values: dict[str, object] = dict(
        id="P-1",
        company_name="P",
        uscc="x" * 18,
        contact_email="p@x.test",
        type=ptype,
        status=PartnerStatus.ACTIVE,
    )
    values.update(kw)
    return PartnerSnapshot.model_validate(values)


def ctx(**kw: object) -> AuthorizationContext:
    values: dict[str, object] = dict(
        partner=partner(),
        customer=CustomerSnapshot(id="C-1", name="C", email="c@x.test"),
        binding=BindingSnapshot(
            id=1, partner_id="P-1", customer_id="C-1", mode=AssociationMode.RESALE, status="active"
        ),
        letter_accepted=True,
    )
    values.update(kw)
    return AuthorizationContext.model_validate(values)


def rules(c: AuthorizationContext, accept: bool = False) -> list[str]:
    return [r.rule for r in authorization_refusals(c, accept)]


def test_authorization_request_rules() -> None:
    assert rules(ctx()) == []
    assert rules(ctx(letter_accepted=False)) == ["commitment_letter_required"]
    assert rules(ctx(letter_accepted=False), accept=True) == []
    consulting = BindingSnapshot(
        id=1, partner_id="P-1", customer_id="C-1", mode=AssociationMode.CONSULTING, status="active"
    )
    assert rules(ctx(binding=consulting)) == ["not_resale"]
    other = consulting.model_copy(update={"partner_id": "P-2"})
    assert rules(ctx(binding=other)) == ["not_bound_to_partner"]
    assert rules(ctx(binding=None)) == ["not_bound_to_partner"]


def test_reseller_needs_an_active_distributor_with_an_admin() -> None:
    reseller = partner(PartnerType.CLOUD_RESELLER, distributor_id="D-1")
    dist = partner(PartnerType.DISTRIBUTOR, id="D-1")
    admin = Contact(user_id="d-admin", name="D", email="d@x.test")
    assert rules(ctx(partner=partner(PartnerType.CLOUD_RESELLER))) == [
        "reseller_without_distributor"
    ]
    assert rules(ctx(partner=reseller, distributor=dist)) == ["distributor_has_no_admin"]
    suspended = dist.model_copy(update={"status": PartnerStatus.SUSPENDED})
    assert rules(ctx(partner=reseller, distributor=suspended, distributor_admins=[admin])) == [
        "distributor_not_active"
    ]
    assert rules(ctx(partner=reseller, distributor=dist, distributor_admins=[admin])) == []


def test_who_may_request_and_decide() -> None:
    staff = Actor(user_id="s", role=Role.PARTNER_STAFF, partner_id="P-1")
    stranger = Actor(user_id="x", role=Role.PARTNER_ADMIN, partner_id="P-9")
    assert requester_refusal(staff, partner()) is None
    assert requester_refusal(stranger, partner()) is not None
    exited = partner(status=PartnerStatus.EXITED)
    assert requester_refusal(staff, exited) is not None

    customer = Actor(user_id="C-1", role=Role.CUSTOMER, customer_id="C-1")
    d_admin = Actor(user_id="d", role=Role.PARTNER_ADMIN, partner_id="D-1")
    waiting_d, waiting_c = (
        AuthorizationStatus.AWAITING_DISTRIBUTOR,
        AuthorizationStatus.AWAITING_CUSTOMER,
    )
    assert decider_refusal(d_admin, waiting_d, "C-1", "D-1") is None
    assert decider_refusal(customer, waiting_d, "C-1", "D-1") is not None
    assert decider_refusal(customer, waiting_c, "C-1", "D-1") is None
    assert decider_refusal(d_admin, waiting_c, "C-1", "D-1") is not None


def test_reuse_needs_approved_and_unexpired() -> None:
    approved = AuthorizationStatus.APPROVED
    assert is_reusable(approved, NOW + D, NOW)
    assert not is_reusable(approved, NOW, NOW)
    assert not is_reusable(AuthorizationStatus.REVOKED, NOW + D, NOW)
    assert not is_reusable(approved, None, NOW)
