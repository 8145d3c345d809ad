"""The binding eligibility rules of docs/invitation.md as pure functions."""

from __future__ import annotations

import pytest

from domain.invitations import binding_refusals, inviter_refusal
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

R, C = AssociationMode.RESALE, AssociationMode.CONSULTING


def partner(**kw: object) -> PartnerSnapshot:
    base: dict[str, object] = dict(
        id="P-1",
        company_name="P",
        uscc="x" * 18,
        contact_email="p@x",
        type=PartnerType.SOLUTION_PROVIDER,
        status=PartnerStatus.ACTIVE,
        consulting_permission=True,
    )
    base.update(kw)
    return PartnerSnapshot.model_validate(base)


def customer(**kw: object) -> CustomerSnapshot:
    return CustomerSnapshot.model_validate({"id": "C-1", "name": "C", "email": "c@x", **kw})


def rules(
    c: CustomerSnapshot,
    mode: AssociationMode,
    p: PartnerSnapshot | None = None,
    bound: BindingSnapshot | None = None,
) -> list[str]:
    return [r.rule for r in binding_refusals(p or partner(), c, mode, bound)]


def test_a_plain_customer_is_eligible_in_both_modes() -> None:
    assert rules(customer(), R) == [] and rules(customer(), C) == []


def test_credit_account_blocks_resale_only() -> None:
    assert rules(customer(has_credit_account=True), R) == ["credit_account_no_resale"]
    assert rules(customer(has_credit_account=True), C) == []


@pytest.mark.parametrize(
    ("fact", "rule"),
    [
        ("is_partner_or_applicant", "customer_is_partner"),
        ("has_special_contract", "special_contract"),
        ("reported_by_direct_sales", "reported_by_direct_sales"),
        ("in_reward_programme", "in_reward_programme"),
    ],
)
@pytest.mark.parametrize("mode", [R, C])
def test_blocks_in_both_modes(fact: str, rule: str, mode: AssociationMode) -> None:
    assert rules(customer(**{fact: True}), mode) == [rule]


@pytest.mark.parametrize(
    ("facts", "rule"),
    [
        ({"enterprise_role": "master"}, "enterprise_account"),
        ({"enterprise_role": "member"}, "enterprise_account"),
        ({"has_recharge_bonus": True}, "recharge_bonus"),
        ({"has_stored_value_card": True}, "stored_value_card"),
        ({"has_reserved_instances": True}, "reserved_instances"),
    ],
)
def test_resale_only_blocks(facts: dict[str, object], rule: str) -> None:
    assert rules(customer(**facts), R) == [rule]
    assert rules(customer(**facts), C) == []


def test_bound_elsewhere_refuses_and_bound_here_is_not_a_refusal() -> None:
    other = BindingSnapshot(id=1, partner_id="P-2", customer_id="C-1", mode=R, status="active")
    here = other.model_copy(update={"partner_id": "P-1"})
    assert rules(customer(), R, bound=other) == ["bound_to_other_partner"]
    assert rules(customer(), R, bound=here) == []


def test_consulting_needs_permission_and_every_refusal_is_listed() -> None:
    p = partner(consulting_permission=False)
    assert rules(customer(), C, p) == ["consulting_not_permitted"]
    both = rules(customer(has_special_contract=True, is_partner_or_applicant=True), C, p)
    assert both == ["consulting_not_permitted", "customer_is_partner", "special_contract"]


def test_refusal_messages_say_what_to_do() -> None:
    [r] = binding_refusals(partner(), customer(has_credit_account=True), R, None)
    assert "consulting mode instead" in r.message


def test_who_may_invite() -> None:
    staff = Actor(user_id="u", role=Role.PARTNER_STAFF, partner_id="P-1")
    assert inviter_refusal(staff, partner()) is None
    assert inviter_refusal(Actor(user_id="o", role=Role.OPS), partner()) is None
    other = Actor(user_id="u", role=Role.PARTNER_ADMIN, partner_id="P-2")
    assert inviter_refusal(other, partner()).rule == "not_partner_user"  # type: ignore[union-attr]
    assert inviter_refusal(Actor(user_id="c", role=Role.CUSTOMER, customer_id="C-1"), partner())
    assert inviter_refusal(staff, partner(status=PartnerStatus.EXITED)).rule == "partner_not_active"  # type: ignore[union-attr]
    dist = partner(type=PartnerType.DISTRIBUTOR)
    assert inviter_refusal(staff, dist).rule == "partner_type_has_no_sub_customers"  # type: ignore[union-attr]
    assert inviter_refusal(staff, None).rule == "partner_not_found"  # type: ignore[union-attr]
