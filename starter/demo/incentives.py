"""Demo rows for incentive payouts: customers bound to Cloudbridge (P-1001) and Blue Harbor
(P-1002), last month's bill status (Blue Harbor has an unpaid bill), and files to import or
submit: last month's consumption, the bill-status import that releases Blue Harbor's frozen
incentive, and an ordinary and a special VAT invoice for Cloudbridge's payout.

The month is the one before the day of loading, so ``payout start`` accepts it.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.incentives import period_bounds, previous_period
from domain.parties import PartnerType
from domain.performance import (
    BindingPeriod,
    ConsumptionLine,
    PaymentKind,
    ProductLine,
    Site,
    compute_statement,
)
from infra.config import VAR_DIR
from infra.db import utcnow
from infra.tables import Binding, Customer, IncentiveRate, Partner, PartnerBillStatus
from starter.services.context import AppContext

DEMO_DIR = VAR_DIR / "demo"
SINCE = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)

# id, name, email, partner, mode
CUSTOMERS = [
    ("C-2201", "Golden Lotus Retail", "it@golden-lotus.example", "P-1001", "resale"),
    ("C-2202", "Pearl River Biotech", "cloud@pearl-bio.example", "P-1001", "consulting"),
    ("C-2203", "Summit Education", "it@summit-edu.example", "P-1002", "resale"),
]

# customer, day of the month, amount, payment kind, site, product line: every rule shows
LINES: list[tuple[str, int, str, str, str, str]] = [
    ("C-2201", 3, "86400.00", "cash", "china", "cloud_service"),
    ("C-2201", 5, "12000.00", "stored_value_card_spend", "china", "cloud_service"),
    ("C-2201", 6, "20000.00", "stored_value_card_purchase", "china", "cloud_service"),
    ("C-2201", 8, "5000.00", "voucher", "china", "cloud_service"),
    ("C-2201", 9, "1000.00", "test_voucher", "china", "cloud_service"),
    ("C-2201", 11, "800.00", "coupon_non_performance", "china", "cloud_service"),
    ("C-2201", 14, "30000.00", "cash", "overseas", "cloud_service"),
    ("C-2202", 16, "9600.00", "cash", "china", "marketplace"),
    ("C-2202", 20, "-1200.00", "cash", "china", "cloud_service"),  # a refund
    ("C-2203", 7, "42000.00", "cash", "china", "cloud_service"),
]

# partner, all bills paid?
BILLS = [("P-1001", True), ("P-1002", False), ("P-1003", True)]

INVOICE_NUMBERS = {"ordinary": "04400123", "special": "04400124"}


async def load_incentives_demo(ctx: AppContext) -> dict[str, Any]:
    """Customers, bindings and bill status in the database; the files to import or submit."""
    # Invoices are dated in the business time zone, as the payout checks them.
    today = (utcnow() + timedelta(hours=ctx.settings.working_calendar_utc_offset_hours)).date()
    period = previous_period(utcnow().date())  # as `payout start` checks it
    start, _ = period_bounds(period)
    async with ctx.sessions.begin() as s:
        for cid, name, email, pid, mode in CUSTOMERS:
            if await s.get(Customer, cid) is None:
                s.add(Customer(id=cid, name=name, email=email))
            await s.flush()
            bound = await s.scalar(
                select(Binding).where(Binding.customer_id == cid, Binding.status == "active")
            )
            if bound is None:
                s.add(
                    Binding(
                        idempotency_key=f"demo-incentives-{cid}",
                        partner_id=pid,
                        customer_id=cid,
                        mode=mode,
                        status="active",
                        created_by="demo",
                        started_at=SINCE,
                    )
                )
        for pid, paid in BILLS:
            row = await s.get(PartnerBillStatus, (pid, period))
            if row is None:
                row = PartnerBillStatus(partner_id=pid, period=period)
                s.add(row)
            row.all_paid = paid
            row.paid_on = start.replace(day=25) if paid else None
        partner = await s.get(Partner, "P-1001")
        overrides = {
            Site(r.site): r.rate
            for r in await s.scalars(
                select(IncentiveRate).where(IncentiveRate.partner_type == "solution_provider")
            )
        }
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    consumption = DEMO_DIR / f"consumption-{period}.csv"
    _write_consumption(consumption, period, start)
    release = DEMO_DIR / f"bill-status-paid-{period}.csv"
    with release.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["partner_id", "period", "all_paid", "paid_on"])
        # paid yesterday: the incentive is released today (the day after payment)
        w.writerow(["P-1002", period, "true", (today - timedelta(days=1)).isoformat()])

    rates = {
        site: overrides.get(site, ctx.settings.incentive_rates[f"solution_provider/{site.value}"])
        for site in Site
    }
    amount = _cloudbridge_amount(period, start, rates)
    files = {}
    if partner is not None:
        for kind, number in INVOICE_NUMBERS.items():
            path = DEMO_DIR / f"invoice-P-1001-{period}-{kind}.json"
            _write_invoice(path, ctx, partner, number, kind, amount, today)
            files[kind] = path
    payout = f"incentive-P-1001-{period}"
    return {
        "incentives": {
            "period": period,
            "consumption_file": str(consumption),
            "cloudbridge_payable": str(amount),
            "files": {k: str(v) for k, v in files.items()} | {"bill_release": str(release)},
        },
        "try_incentives": [
            "partnerflow worker  # (or partnerflow dev) must be running",
            f"partnerflow import consumption {consumption}",
            f"partnerflow payout start --partner P-1001 --period {period} --as ops-li",
            f"partnerflow payout apply {payout} --method bank_transfer --as pa-chen",
            f"partnerflow payout invoice {payout} --file {files.get('ordinary')} --as pa-chen"
            "   # refused: an ordinary VAT invoice",
            f"partnerflow payout invoice {payout} --file {files.get('special')} --as pa-chen",
            f"partnerflow payout approve {payout} --as fin-zhao",
            f"partnerflow payout show {payout}",
            f"partnerflow payout start --partner P-1002 --period {period} --as ops-li"
            "   # FROZEN: a bill of the month is unpaid",
            f"partnerflow import bill-status {release}   # paid: the statement is sent",
            f"partnerflow payout apply incentive-P-1002-{period} --method bank_transfer "
            "--as pa-huang   # HELD: Blue Harbor is not business-certified",
            f"partnerflow payout start --partner P-1003 --period {period} --as ops-li"
            "   # NO_INCENTIVE: a distributor has no sub-customers of its own",
            "partnerflow schedules apply   # the monthly run on the 3rd",
        ],
    }


def _lines(period: str, start: date) -> list[ConsumptionLine]:
    return [
        ConsumptionLine(
            line_id=f"DEMO-{period}-{n:03d}",
            customer_id=cid,
            consumed_on=start.replace(day=day),
            amount=Decimal(amount),
            payment_kind=PaymentKind(kind),
            site=Site(site),
            product_line=ProductLine(product),
        )
        for n, (cid, day, amount, kind, site, product) in enumerate(LINES, start=1)
    ]


def _write_consumption(path: Path, period: str, start: date) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "line_id",
                "customer_id",
                "consumed_on",
                "amount",
                "payment_kind",
                "site",
                "product_line",
            ]
        )
        for line in _lines(period, start):
            w.writerow(
                [
                    line.line_id,
                    line.customer_id,
                    line.consumed_on.isoformat(),
                    str(line.amount),
                    line.payment_kind.value,
                    line.site.value,
                    line.product_line.value,
                ]
            )


def _cloudbridge_amount(period: str, start: date, rates: dict[Site, Decimal]) -> Decimal:
    """What Cloudbridge's statement will say, by the same function the payout uses."""
    _, end = period_bounds(period)
    st = compute_statement(
        partner_id="P-1001",
        partner_type=PartnerType.SOLUTION_PROVIDER,
        period=period,
        period_start=start,
        period_end=end,
        lines=_lines(period, start),
        bindings=[
            BindingPeriod(customer_id=cid, start=SINCE.date())
            for cid, _, _, pid, _ in CUSTOMERS
            if pid == "P-1001"
        ],
        rates=rates,
    )
    return st.payable


def _write_invoice(
    path: Path,
    ctx: AppContext,
    partner: Partner,
    number: str,
    kind: str,
    total: Decimal,
    issued_on: date,
) -> None:
    tax = (total * Decimal(6) / Decimal(106)).quantize(Decimal("0.01"))  # 6% VAT on services
    doc = {
        "invoice_number": number,
        "invoice_type": f"vat_{kind}",
        "buyer_title": ctx.settings.vendor_invoice_title,
        "buyer_tax_id": ctx.settings.vendor_tax_id,
        "seller_name": partner.company_name,
        "seller_tax_id": partner.uscc,
        "amount_excl_tax": str(total - tax),
        "tax_amount": str(tax),
        "total": str(total),
        "issued_on": issued_on.isoformat(),
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
