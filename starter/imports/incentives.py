"""Importers of what the payout reads: ``consumption``, ``bill-status``, ``incentive-rates``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.incentives import (
    Period,
)
from domain.parties import PartnerType
from domain.performance import PaymentKind, ProductLine, Site
from domain.reference import Ident
from domain.text import N_, MarkedText
from infra.tables import (
    ConsumptionLineRow,
    Customer,
    IncentiveRate,
    Partner,
    PartnerBillStatus,
)
from starter.imports.base import (
    NO_CUSTOMER_YET,
    NO_PARTNER,
    Importer,
    ImportResult,
    RowError,
    duplicates,
    register_importer,
    upsert_row,
)


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsumptionRow(_Row):
    """One consumption line of the billing export."""

    line_id: Ident
    customer_id: Ident
    consumed_on: date
    amount: Decimal = Field(max_digits=16, decimal_places=2)  # negative: a refund
    payment_kind: PaymentKind
    site: Site
    product_line: ProductLine


class BillStatusRow(_Row):
    """Whether every bill of a partner's monthly cycle is paid."""

    partner_id: Ident
    period: Period
    all_paid: bool
    paid_on: date | None = None

    @model_validator(mode="after")
    def _paid_on_only_when_paid(self) -> BillStatusRow:
        if not self.all_paid and self.paid_on is not None:
            raise ValueError("paid_on is given only when all_paid is true")
        return self


class RateRow(_Row):
    """The incentive rate of a partner type on a site."""

    partner_type: PartnerType
    site: Site
    rate: Decimal = Field(ge=0, le=1, decimal_places=4)


async def _upsert(
    s: AsyncSession, table: type[Any], key: Any, values: dict[str, Any], result: ImportResult
) -> None:
    result.count(await upsert_row(s, table, key, values))


async def _check_consumption(s: AsyncSession, rows: list[ConsumptionRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: r.line_id, "line_id")
    ids = {r.customer_id for r in rows}
    known = set((await s.scalars(select(Customer.id).where(Customer.id.in_(ids)))).all())
    for n, r in enumerate(rows, start=1):
        if r.customer_id not in known:
            errors.append(RowError(n, "customer_id", MarkedText(NO_CUSTOMER_YET, id=r.customer_id)))
    return errors


async def _write_consumption(
    s: AsyncSession, rows: list[ConsumptionRow], result: ImportResult
) -> None:
    for r in rows:
        await _upsert(s, ConsumptionLineRow, r.line_id, r.model_dump(), result)
    result.note(
        MarkedText(
            N_(
                "payouts already calculated keep their statement; a FROZEN one is "
                "recalculated at release"
            )
        )
    )


async def _check_bill_status(s: AsyncSession, rows: list[BillStatusRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: (r.partner_id, r.period), "partner_id")
    ids = {r.partner_id for r in rows}
    known = set((await s.scalars(select(Partner.id).where(Partner.id.in_(ids)))).all())
    for n, r in enumerate(rows, start=1):
        if r.partner_id not in known:
            errors.append(RowError(n, "partner_id", MarkedText(NO_PARTNER, id=r.partner_id)))
    return errors


async def _write_bill_status(
    s: AsyncSession, rows: list[BillStatusRow], result: ImportResult
) -> None:
    for r in rows:
        await _upsert(s, PartnerBillStatus, (r.partner_id, r.period), r.model_dump(), result)
    result.extra.setdefault("paid", []).extend(
        {
            "partner_id": r.partner_id,
            "period": r.period,
            "paid_on": r.paid_on.isoformat() if r.paid_on else None,
        }
        for r in rows
        if r.all_paid
    )


async def _check_rates(s: AsyncSession, rows: list[RateRow]) -> list[RowError]:
    return duplicates(rows, lambda r: (r.partner_type, r.site), "partner_type")


async def _write_rates(s: AsyncSession, rows: list[RateRow], result: ImportResult) -> None:
    for r in rows:
        values = {"partner_type": r.partner_type.value, "site": r.site.value, "rate": r.rate}
        await _upsert(s, IncentiveRate, (r.partner_type.value, r.site.value), values, result)
    result.note(MarkedText(N_("new rates apply to statements calculated from now on")))


CONSUMPTION = register_importer(
    Importer(
        "consumption",
        ConsumptionRow,
        _write_consumption,
        _check_consumption,
        key=lambda r: (r.line_id,),
        table=ConsumptionLineRow,
        help="Consumption lines: line_id, customer_id, consumed_on, amount, payment_kind, site, "
        "product_line.",
    )
)


BILL_STATUS = register_importer(
    Importer(
        "bill-status",
        BillStatusRow,
        _write_bill_status,
        _check_bill_status,
        key=lambda r: (r.partner_id, r.period),
        table=PartnerBillStatus,
        help="Partner bill status per month: partner_id, period (YYYY-MM), all_paid, paid_on.",
    )
)


RATES = register_importer(
    Importer(
        "incentive-rates",
        RateRow,
        _write_rates,
        _check_rates,
        key=lambda r: (r.partner_type.value, r.site.value),
        table=IncentiveRate,
        help="Incentive rates: partner_type, site (china|overseas), rate (e.g. 0.0500).",
    )
)
