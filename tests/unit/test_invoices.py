"""Each invoice verification rule (docs/incentives.md), and the incentive rules around the payout."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain.incentives import (
    BillStatus,
    apply_refusal,
    finance_refusal,
    held_reason,
    release_time,
    start_refusal,
)
from domain.invoices import (
    InvoiceDetails,
    InvoiceExpectations,
    InvoiceType,
    describe_problems,
    verify_invoice,
)
from domain.parties import Actor, PartnerSnapshot, PartnerStatus, PartnerType, Role

EXP = InvoiceExpectations(
    payout_id="incentive-P-1-2026-10",
    vendor_title="Huawei Cloud Computing Technologies Co., Ltd.",
    vendor_tax_id="91520900MA6J6CBN9Q",
    partner_company="Hangzhou Cloudbridge Technology Co.\uff08Ltd.\uff09",  # full-width brackets
    partner_uscc="91330106MA2H0XPF0Y",
    payout_amount=Decimal("1000.00"),
    notified_on=date(2026, 11, 5),
    today=date(2026, 11, 10),
)


def invoice(**kw: Any) -> InvoiceDetails:
    values: dict[str, Any] = dict(
        invoice_number="12345678",
        invoice_type="vat_special",
        buyer_title="Huawei Cloud Computing Technologies Co., Ltd.",
        buyer_tax_id="91520900ma6j6cbn9q",
        seller_name="Hangzhou Cloudbridge Technology Co.(Ltd.)",
        seller_tax_id="91330106MA2H0XPF0Y",
        amount_excl_tax="943.40",
        tax_amount="56.60",
        total="1000.00",
        issued_on=date(2026, 11, 6),
    )
    values.update(kw)
    return InvoiceDetails.model_validate(values)


def rules(inv: InvoiceDetails, exp: InvoiceExpectations = EXP) -> list[str]:
    return [p.rule for p in verify_invoice(inv, exp)]


def test_a_good_invoice_passes() -> None:
    # full-width brackets and the tax id's case do not matter
    assert rules(invoice()) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"invoice_type": InvoiceType.VAT_ORDINARY}, "special_invoice_required"),
        ({"buyer_title": "Huawei Technologies Co., Ltd."}, "buyer_title_mismatch"),
        ({"buyer_tax_id": "914403001922038216"}, "buyer_tax_id_mismatch"),
        ({"seller_name": "Another Company Ltd."}, "seller_name_mismatch"),
        ({"seller_tax_id": "91440300MA5FCG0L5U"}, "seller_tax_id_mismatch"),
        ({"tax_amount": "56.00"}, "amounts_do_not_add_up"),
        (
            {"amount_excl_tax": "1037.74", "tax_amount": "62.26", "total": "1100.00"},
            "total_exceeds_payout",
        ),
        ({"issued_on": date(2026, 11, 4)}, "issued_before_notification"),
        ({"issued_on": date(2026, 11, 11)}, "issued_in_future"),
    ],
)
def test_each_rule_refuses_with_its_reason(change: dict[str, Any], rule: str) -> None:
    problems = verify_invoice(invoice(**change), EXP)
    assert [p.rule for p in problems] == [rule]
    assert problems[0].message  # says what is wrong and what to do


def test_ordinary_invoice_must_be_replaced_by_a_special_one() -> None:
    (p,) = verify_invoice(invoice(invoice_type="vat_ordinary"), EXP)
    assert "ordinary" in p.message and "special invoice to replace it" in p.message


def test_number_used_by_another_payout() -> None:
    exp = EXP.model_copy(update={"numbers_in_use": {"12345678": "incentive-P-2-2026-10"}})
    (p,) = verify_invoice(invoice(), exp)
    assert p.rule == "invoice_number_used" and "incentive-P-2-2026-10" in p.message


def test_several_invoices_add_up_to_the_payout() -> None:
    first = invoice(amount_excl_tax="566.04", tax_amount="33.96", total="600.00")
    assert rules(first) == []
    after_first = EXP.model_copy(update={"already_invoiced": Decimal("600.00")})
    assert rules(invoice(invoice_number="22345678"), after_first) == ["total_exceeds_payout"]
    rest = invoice(
        invoice_number="22345678", amount_excl_tax="377.36", tax_amount="22.64", total="400.00"
    )
    assert rules(rest, after_first) == []
    (p,) = verify_invoice(invoice(invoice_number="22345678"), after_first)
    assert "400.00 remains" in p.message


def test_every_problem_is_reported_at_once() -> None:
    inv = invoice(invoice_type="vat_ordinary", buyer_tax_id="X", issued_on=date(2026, 1, 1))
    problems = verify_invoice(inv, EXP)
    assert [p.rule for p in problems] == [
        "special_invoice_required",
        "buyer_tax_id_mismatch",
        "issued_before_notification",
    ]
    text = describe_problems(problems)
    assert all(p.message in text for p in problems)


@pytest.mark.parametrize("number", ["1234567", "123456789", "12345678901234567890X", "abcdefgh"])
def test_invoice_numbers_are_8_or_20_digits(number: str) -> None:
    with pytest.raises(ValidationError):
        invoice(invoice_number=number)
    assert invoice(invoice_number="12345678901234567890").invoice_number


# ----- rules around the payout ---------------------------------------------------------------

PARTNER = PartnerSnapshot(
    id="P-1",
    company_name="Co",
    uscc="91330106MA2H0XPF0Y",
    contact_email="p@x.test",
    type=PartnerType.SOLUTION_PROVIDER,
    status=PartnerStatus.ACTIVE,
    business_certified=True,
)


def test_only_the_partners_admin_applies() -> None:
    admin = Actor(user_id="a", role=Role.PARTNER_ADMIN, partner_id="P-1")
    assert apply_refusal(admin, "P-1") is None
    assert apply_refusal(admin, "P-2") is not None
    assert apply_refusal(Actor(user_id="s", role=Role.PARTNER_STAFF, partner_id="P-1"), "P-1")
    assert apply_refusal(Actor(user_id="o", role=Role.OPS), "P-1")


def test_only_finance_approves() -> None:
    assert finance_refusal(Actor(user_id="f", role=Role.FINANCE)) is None
    assert finance_refusal(Actor(user_id="o", role=Role.OPS)) is not None


def test_held_without_certification() -> None:
    assert held_reason(PARTNER) is None
    reason = held_reason(PARTNER.model_copy(update={"business_certified": False}))
    assert reason is not None and "certification" in reason


def test_frozen_until_paid_and_released_the_day_after() -> None:
    now = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert release_time(BillStatus(known=False), now) is None
    assert release_time(BillStatus(known=True, all_paid=False), now) is None
    paid = BillStatus(known=True, all_paid=True, paid_on=date(2026, 11, 3))
    assert release_time(paid, now) == datetime(2026, 11, 4, tzinfo=UTC)
    assert release_time(BillStatus(known=True, all_paid=True), now) == now
    # in China (UTC+8) the next day starts at 16:00 UTC
    china = release_time(paid, now, timedelta(hours=8))
    assert china == datetime(2026, 11, 3, 16, 0, tzinfo=UTC)


def test_start_refusals() -> None:
    today = date(2026, 11, 3)
    assert start_refusal(PARTNER, "P-1", "2026-10", today) is None
    assert "not ended" in (start_refusal(PARTNER, "P-1", "2026-11", today) or "")
    suspended = PARTNER.model_copy(update={"status": PartnerStatus.SUSPENDED})
    assert "SUSPENDED" in (start_refusal(suspended, "P-1", "2026-10", today) or "")
    assert start_refusal(None, "P-9", "2026-10", today) is not None
