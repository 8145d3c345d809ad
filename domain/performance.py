"""Performance and incentive of one partner for one month (docs/incentives.md), as one pure function.

Rules:
- Performance is the cash consumption of the partner's associated sub-customers, cloud services
  and marketplace products alike (the vendor's rule). Spending with a stored-value card counts as cash;
  vouchers (test vouchers included), non-performance cash coupons and purchases of stored-value
  cards do not (the vendor's rule).
- Overseas consumption counts, at the overseas rate (the vendor's rule); rates are per partner type and site
  [ours: a configurable table].
- Only consumption while the customer was bound to this partner counts (PartnerFlow's default). A binding covers
  the days from the day it started up to, not including, the day it ended, so a day on which a
  customer moves from one partner to another is counted once, for the new partner.
- Negative incentives (refunds exceeding consumption on a site, or a deficit carried from an
  earlier month) are deducted first from the positive ones (the vendor's rule); what they do not absorb is
  carried to the next month, never paid out as a negative amount.

Money: every amount is a ``Decimal`` with two places. Each site's incentive is
``performance x rate`` rounded once to 0.01 with ROUND_HALF_UP; totals are sums of those
rounded amounts, so the statement adds up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.errors import InvalidInputError
from domain.parties import PartnerType
from domain.text import N_

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ROUNDING = ROUND_HALF_UP


class PaymentKind(StrEnum):
    """How a consumption line was paid."""

    CASH = "cash"
    VOUCHER = "voucher"
    TEST_VOUCHER = "test_voucher"
    COUPON_NON_PERFORMANCE = "coupon_non_performance"
    STORED_VALUE_CARD_PURCHASE = "stored_value_card_purchase"
    STORED_VALUE_CARD_SPEND = "stored_value_card_spend"


class Site(StrEnum):
    """Where the resources were bought."""

    CHINA = "china"
    OVERSEAS = "overseas"


class ProductLine(StrEnum):
    """What was bought; both lines count towards performance (the vendor's rule)."""

    CLOUD_SERVICE = "cloud_service"
    MARKETPLACE = "marketplace"


# Spending with a stored-value card is cash; buying the card is not (it would count twice).
PERFORMANCE_KINDS = frozenset({PaymentKind.CASH, PaymentKind.STORED_VALUE_CARD_SPEND})


def money(value: Decimal) -> Decimal:
    """``value`` rounded to 0.01 with ROUND_HALF_UP."""
    return value.quantize(CENT, rounding=ROUNDING)


class ConsumptionLine(BaseModel):
    """One line of the billing export."""

    line_id: str
    customer_id: str
    consumed_on: date
    amount: Decimal = Field(decimal_places=2)  # negative for a refund
    payment_kind: PaymentKind
    site: Site
    product_line: ProductLine


class BindingPeriod(BaseModel):
    """A customer's association with the partner: ``start`` included, ``end`` excluded."""

    customer_id: str
    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        """True when the customer was bound to the partner on ``day``."""
        return self.start <= day and (self.end is None or day < self.end)


class SiteIncentive(BaseModel):
    """Performance and incentive of one site."""

    site: Site
    performance: Decimal
    rate: Decimal
    incentive: Decimal
    lines: int


class Exclusion(BaseModel):
    """Consumption that did not count, grouped by the rule that excluded it."""

    rule: str
    description: str
    amount: Decimal
    lines: int


class Statement(BaseModel):
    """The month's incentive statement of one partner."""

    partner_id: str
    period: str
    partner_type: PartnerType
    sites: list[SiteIncentive]
    excluded: list[Exclusion] = Field(default_factory=list)
    performance: Decimal  # counted consumption, all sites
    gross_incentive: Decimal  # sum of the positive site incentives
    negative_incentive: Decimal  # sum of the negative site incentives (<= 0)
    carried_in: Decimal = ZERO  # deficit from an earlier month (<= 0)
    deducted: Decimal  # negatives deducted from the gross incentive (>= 0)
    payable: Decimal  # what the partner receives (>= 0)
    carried_out: Decimal = ZERO  # deficit left for the next month (<= 0)


_EXCLUDED_KINDS: dict[PaymentKind, str] = {
    PaymentKind.VOUCHER: N_("paid with vouchers issued by the vendor"),
    PaymentKind.TEST_VOUCHER: N_("paid with test vouchers"),
    PaymentKind.COUPON_NON_PERFORMANCE: N_(
        "paid with cash coupons that do not count as performance"
    ),
    PaymentKind.STORED_VALUE_CARD_PURCHASE: N_("purchases of stored-value cards (spending counts)"),
}


def exclusion_rule(
    line: ConsumptionLine, period_start: date, period_end: date, periods: Iterable[BindingPeriod]
) -> str | None:
    """Why a line does not count towards the partner's performance (None: it counts)."""
    if not period_start <= line.consumed_on < period_end:
        return "outside_period"
    if line.payment_kind not in PERFORMANCE_KINDS:
        return line.payment_kind.value
    if not any(p.customer_id == line.customer_id and p.covers(line.consumed_on) for p in periods):
        return "outside_binding"
    return None


_RULE_DESCRIPTIONS = {
    "outside_period": N_("consumption outside the month"),
    "outside_binding": N_("consumption while the customer was not bound to this partner"),
    **{k.value: v for k, v in _EXCLUDED_KINDS.items()},
}


def compute_statement(
    *,
    partner_id: str,
    partner_type: PartnerType,
    period: str,
    period_start: date,
    period_end: date,
    lines: Iterable[ConsumptionLine],
    bindings: Iterable[BindingPeriod],
    rates: Mapping[Site, Decimal],
    carried_in: Decimal = ZERO,
) -> Statement:
    """The incentive statement: performance per site x rate, negatives deducted first."""
    if carried_in > 0:
        raise InvalidInputError("a carried-in incentive is a deficit and cannot be positive")
    periods = list(bindings)
    per_site: dict[Site, list[Decimal]] = {site: [] for site in Site}
    excluded: dict[str, list[Decimal]] = {}
    for line in lines:
        rule = exclusion_rule(line, period_start, period_end, periods)
        if rule is None:
            per_site[line.site].append(line.amount)
        else:
            excluded.setdefault(rule, []).append(line.amount)
    sites: list[SiteIncentive] = []
    for site, amounts in per_site.items():
        if site not in rates:
            raise InvalidInputError(
                f"no incentive rate for a {partner_type.value} on the {site.value} site; "
                "import the rate table (partnerflow import incentive-rates FILE)"
            )
        performance = sum(amounts, ZERO)
        sites.append(
            SiteIncentive(
                site=site,
                performance=performance,
                rate=rates[site],
                incentive=money(performance * rates[site]),
                lines=len(amounts),
            )
        )
    gross = sum((s.incentive for s in sites if s.incentive > 0), ZERO)
    negative = sum((s.incentive for s in sites if s.incentive < 0), ZERO)
    balance = gross + negative + carried_in
    return Statement(
        partner_id=partner_id,
        period=period,
        partner_type=partner_type,
        sites=sites,
        excluded=[
            Exclusion(
                rule=rule,
                description=_RULE_DESCRIPTIONS[rule],
                amount=sum(amounts, ZERO),
                lines=len(amounts),
            )
            for rule, amounts in sorted(excluded.items())
        ],
        performance=sum((s.performance for s in sites), ZERO),
        gross_incentive=gross,
        negative_incentive=negative,
        carried_in=carried_in,
        deducted=min(gross, -(negative + carried_in)),
        payable=max(balance, ZERO),
        carried_out=min(balance, ZERO),
    )
