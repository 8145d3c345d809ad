"""The performance and incentive function (docs/incentives.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import InvalidInputError
from domain.incentives import period_bounds, previous_period
from domain.parties import PartnerType
from domain.performance import (
    BindingPeriod,
    ConsumptionLine,
    PaymentKind,
    ProductLine,
    Site,
    Statement,
    compute_statement,
    money,
)

RATES = {Site.CHINA: Decimal("0.05"), Site.OVERSEAS: Decimal("0.03")}
BOUND = [BindingPeriod(customer_id="C-1", start=date(2026, 1, 1))]
_n = 0


def line(
    amount: str,
    kind: PaymentKind = PaymentKind.CASH,
    site: Site = Site.CHINA,
    day: date = date(2026, 10, 15),
    customer: str = "C-1",
    product: ProductLine = ProductLine.CLOUD_SERVICE,
) -> ConsumptionLine:
    global _n
    _n += 1
    return ConsumptionLine(
        line_id=f"L{_n}",
        customer_id=customer,
        consumed_on=day,
        amount=Decimal(amount),
        payment_kind=kind,
        site=site,
        product_line=product,
    )


def statement(
    lines: list[ConsumptionLine],
    bindings: list[BindingPeriod] = BOUND,
    carried_in: str = "0.00",
    rates: dict[Site, Decimal] = RATES,
) -> Statement:
    start, end = period_bounds("2026-10")
    return compute_statement(
        partner_id="P-1",
        partner_type=PartnerType.SOLUTION_PROVIDER,
        period="2026-10",
        period_start=start,
        period_end=end,
        lines=lines,
        bindings=bindings,
        rates=rates,
        carried_in=Decimal(carried_in),
    )


def site(st: Statement, s: Site) -> Decimal:
    return next(x.incentive for x in st.sites if x.site == s)


@pytest.mark.parametrize(
    ("kind", "counts"),
    [
        (PaymentKind.CASH, True),
        (PaymentKind.STORED_VALUE_CARD_SPEND, True),
        (PaymentKind.VOUCHER, False),
        (PaymentKind.TEST_VOUCHER, False),
        (PaymentKind.COUPON_NON_PERFORMANCE, False),
        (PaymentKind.STORED_VALUE_CARD_PURCHASE, False),
    ],
)
def test_each_payment_kind(kind: PaymentKind, counts: bool) -> None:
    st = statement([line("1000.00", kind)])
    assert st.performance == (Decimal("1000.00") if counts else Decimal("0"))
    assert st.payable == (Decimal("50.00") if counts else Decimal("0.00"))
    if not counts:
        assert [(e.rule, e.amount) for e in st.excluded] == [(kind.value, Decimal("1000.00"))]


def test_marketplace_counts_like_cloud_services() -> None:
    st = statement([line("200.00", product=ProductLine.MARKETPLACE), line("100.00")])
    assert st.performance == Decimal("300.00")
    assert st.payable == Decimal("15.00")


def test_overseas_counts_at_its_own_rate() -> None:
    st = statement([line("1000.00"), line("1000.00", site=Site.OVERSEAS)])
    assert site(st, Site.CHINA) == Decimal("50.00")
    assert site(st, Site.OVERSEAS) == Decimal("30.00")
    assert st.payable == Decimal("80.00")


def test_missing_rate_is_refused_with_what_to_do() -> None:
    with pytest.raises(InvalidInputError, match="import the rate table"):
        statement([line("1.00")], rates={Site.CHINA: Decimal("0.05")})


def test_only_consumption_while_bound_counts() -> None:
    bindings = [BindingPeriod(customer_id="C-1", start=date(2026, 10, 10), end=date(2026, 10, 20))]
    st = statement(
        [
            line("100.00", day=date(2026, 10, 9)),  # before the binding
            line("200.00", day=date(2026, 10, 10)),  # the day it started counts
            line("300.00", day=date(2026, 10, 19)),
            line("400.00", day=date(2026, 10, 20)),  # the day it ended belongs to the next partner
            line("500.00", customer="C-2"),  # never bound to this partner
        ],
        bindings,
    )
    assert st.performance == Decimal("500.00")
    assert [(e.rule, e.amount, e.lines) for e in st.excluded] == [
        ("outside_binding", Decimal("1000.00"), 3)
    ]


def test_rebinding_counts_both_periods() -> None:
    bindings = [
        BindingPeriod(customer_id="C-1", start=date(2026, 9, 1), end=date(2026, 10, 5)),
        BindingPeriod(customer_id="C-1", start=date(2026, 10, 25)),
    ]
    st = statement(
        [
            line("10.00", day=date(2026, 10, 4)),
            line("20.00", day=date(2026, 10, 6)),
            line("40.00", day=date(2026, 10, 31)),
        ],
        bindings,
    )
    assert st.performance == Decimal("50.00")


def test_lines_outside_the_month_do_not_count() -> None:
    st = statement([line("100.00", day=date(2026, 9, 30)), line("100.00", day=date(2026, 11, 1))])
    assert st.performance == 0
    assert st.excluded[0].rule == "outside_period"


def test_rounding_is_half_up_to_the_cent_per_site() -> None:
    # 0.10 x 0.05 = 0.005 -> 0.01 (half up, not banker's 0.00)
    assert statement([line("0.10")]).payable == Decimal("0.01")
    # 0.09 x 0.05 = 0.0045 -> 0.00
    assert statement([line("0.09")]).payable == Decimal("0.00")
    # rounded once per site, not per line: 3 x 0.10 -> 0.30 x 0.05 = 0.015 -> 0.02
    assert statement([line("0.10"), line("0.10"), line("0.10")]).payable == Decimal("0.02")
    assert money(Decimal("2.345")) == Decimal("2.35")


def test_money_stays_decimal() -> None:
    st = statement([line("1234.56"), line("0.01", site=Site.OVERSEAS)])
    for value in (st.performance, st.payable, st.gross_incentive, *[s.incentive for s in st.sites]):
        assert isinstance(value, Decimal)
    assert st.payable == Decimal("61.73")  # 61.728 -> 61.73; overseas 0.0003 -> 0.00


def test_negative_site_incentive_is_deducted_first() -> None:
    # China: refunds exceed consumption; overseas positive.
    st = statement([line("100.00"), line("-300.00"), line("1000.00", site=Site.OVERSEAS)])
    assert site(st, Site.CHINA) == Decimal("-10.00")
    assert st.gross_incentive == Decimal("30.00")
    assert st.deducted == Decimal("10.00")
    assert st.payable == Decimal("20.00")
    assert st.carried_out == Decimal("0.00")


def test_carried_in_deficit_is_deducted_and_the_rest_carried_on() -> None:
    st = statement([line("1000.00")], carried_in="-80.00")
    assert st.gross_incentive == Decimal("50.00")
    assert st.deducted == Decimal("50.00")
    assert st.payable == Decimal("0.00")
    assert st.carried_out == Decimal("-30.00")
    st2 = statement([line("1000.00")], carried_in="-20.00")
    assert (st2.payable, st2.deducted, st2.carried_out) == (
        Decimal("30.00"),
        Decimal("20.00"),
        Decimal("0.00"),
    )


def test_a_positive_carry_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        statement([], carried_in="5.00")


def test_no_consumption_is_zero() -> None:
    st = statement([])
    assert st.payable == 0 and st.carried_out == 0 and st.deducted == 0


def test_periods() -> None:
    assert period_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert previous_period(date(2026, 1, 3)) == "2025-12"
    assert previous_period(date(2026, 11, 3)) == "2026-10"
