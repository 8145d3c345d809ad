"""Imports the unbinding rules read: the vouchers and cash coupons customers hold, and the
partners' unused allocations to their resale customers (from billing exports)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reference import Ident
from domain.text import N_, MarkedText
from domain.types import Money
from domain.unbinding import VoucherIssuer, VoucherKind
from infra.tables import Binding, Customer, Partner
from infra.tables.unbinding import CustomerVoucher
from starter.imports.base import (
    NO_CUSTOMER,
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


class VoucherRow(_Row):
    """A voucher or cash coupon a customer holds."""

    id: Ident
    customer_id: Ident
    kind: VoucherKind
    issuer: VoucherIssuer
    issuer_partner_id: Ident | None = None
    balance: Money
    status: str = Field("held", pattern="^(held|recalled|returned|used|expired)$")
    issued_at: datetime | None = None

    @model_validator(mode="after")
    def _issuer_partner_matches_issuer(self) -> VoucherRow:
        if self.issuer == VoucherIssuer.PARTNER and not self.issuer_partner_id:
            raise ValueError("a partner-issued item needs issuer_partner_id")
        if self.issuer == VoucherIssuer.VENDOR and self.issuer_partner_id:
            raise ValueError("a vendor-issued item has no issuer_partner_id")
        if self.issued_at is not None and self.issued_at.tzinfo is None:
            raise ValueError("issued_at needs a time zone, e.g. 2026-11-01T08:00:00+08:00")
        return self


class AllocationRow(_Row):
    """A partner's unused allocation to a resale customer it is bound to."""

    partner_id: Ident
    customer_id: Ident
    allocated_balance: Money


async def _check_vouchers(s: AsyncSession, rows: list[VoucherRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: r.id, "id")
    for n, r in enumerate(rows, start=1):
        if await s.get(Customer, r.customer_id) is None:
            errors.append(RowError(n, "customer_id", MarkedText(NO_CUSTOMER, id=r.customer_id)))
        if r.issuer_partner_id and await s.get(Partner, r.issuer_partner_id) is None:
            errors.append(
                RowError(n, "issuer_partner_id", MarkedText(NO_PARTNER, id=r.issuer_partner_id))
            )
    return errors


async def _write_vouchers(s: AsyncSession, rows: list[VoucherRow], result: ImportResult) -> None:
    for r in rows:
        values = r.model_dump()
        values["kind"], values["issuer"] = r.kind.value, r.issuer.value
        result.count(await upsert_row(s, CustomerVoucher, r.id, values))


async def _active_resale_binding(s: AsyncSession, r: AllocationRow) -> Binding | None:
    found: Binding | None = await s.scalar(
        select(Binding).where(
            Binding.partner_id == r.partner_id,
            Binding.customer_id == r.customer_id,
            Binding.status == "active",
            Binding.mode == "resale",
        )
    )
    return found


async def _check_allocations(s: AsyncSession, rows: list[AllocationRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: (r.partner_id, r.customer_id), "customer_id")
    for n, r in enumerate(rows, start=1):
        if await _active_resale_binding(s, r) is None:
            errors.append(
                RowError(
                    n,
                    "customer_id",
                    MarkedText(
                        N_(
                            "customer %(customer)s has no active resale binding with partner "
                            "%(partner)s"
                        ),
                        customer=r.customer_id,
                        partner=r.partner_id,
                    ),
                )
            )
    return errors


async def _write_allocations(
    s: AsyncSession, rows: list[AllocationRow], result: ImportResult
) -> None:
    for r in rows:
        binding = await _active_resale_binding(s, r)
        assert binding is not None  # checked above, in the same transaction
        binding.allocated_balance = r.allocated_balance
        result.updated += 1


VOUCHERS = register_importer(
    Importer(
        "customer-vouchers",
        VoucherRow,
        _write_vouchers,
        _check_vouchers,
        key=lambda r: (r.id,),
        table=CustomerVoucher,
        help="Vouchers and cash coupons customers hold: id, customer_id, kind "
        "(voucher|cash_coupon), issuer (partner|vendor), issuer_partner_id, balance, status.",
    )
)
ALLOCATIONS = register_importer(
    Importer(
        "resale-allocations",
        AllocationRow,
        _write_allocations,
        _check_allocations,
        help="Partners' unused allocations to their resale customers: partner_id, "
        "customer_id, allocated_balance.",
    )
)
KINDS = (VOUCHERS.kind, ALLOCATIONS.kind)
