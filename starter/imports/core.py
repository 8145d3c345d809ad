"""Importers for partners, users and customers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reference import CustomerRow, PartnerRow, UserRow
from domain.text import MarkedText
from infra.db import Base
from infra.tables import Customer, Partner, User
from starter.imports.base import (
    NO_CUSTOMER_YET,
    NO_PARTNER,
    NO_PARTNER_YET,
    Importer,
    ImportResult,
    RowError,
    duplicates,
    register_importer,
    upsert_row,
)


async def _upsert(
    s: AsyncSession, table: type[Base], rows: list[dict[str, object]], result: ImportResult
) -> None:
    for values in rows:
        result.count(await upsert_row(s, table, values["id"], values))


async def _check_partners(s: AsyncSession, rows: list[PartnerRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: r.id, "id")
    ids = {r.id for r in rows}
    for n, r in enumerate(rows, start=1):
        if (
            r.distributor_id
            and r.distributor_id not in ids
            and await s.get(Partner, r.distributor_id) is None
        ):
            errors.append(
                RowError(n, "distributor_id", MarkedText(NO_PARTNER, id=r.distributor_id))
            )
    return errors


async def _write_partners(s: AsyncSession, rows: list[PartnerRow], result: ImportResult) -> None:
    await _upsert(s, Partner, [r.model_dump() for r in rows], result)


async def _check_users(s: AsyncSession, rows: list[UserRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: r.id, "id")
    for n, r in enumerate(rows, start=1):
        if r.partner_id and await s.get(Partner, r.partner_id) is None:
            errors.append(RowError(n, "partner_id", MarkedText(NO_PARTNER_YET, id=r.partner_id)))
        if r.customer_id and await s.get(Customer, r.customer_id) is None:
            errors.append(RowError(n, "customer_id", MarkedText(NO_CUSTOMER_YET, id=r.customer_id)))
    return errors


async def _write_users(s: AsyncSession, rows: list[UserRow], result: ImportResult) -> None:
    await _upsert(s, User, [r.model_dump() for r in rows], result)


async def _check_customers(s: AsyncSession, rows: list[CustomerRow]) -> list[RowError]:
    return duplicates(rows, lambda r: r.id, "id")


async def _write_customers(s: AsyncSession, rows: list[CustomerRow], result: ImportResult) -> None:
    ids = [r.id for r in rows]
    before = {
        c.id: c.email for c in (await s.scalars(select(Customer).where(Customer.id.in_(ids)))).all()
    }
    await _upsert(s, Customer, [r.model_dump() for r in rows], result)
    changed = {r.id: r.email for r in rows if r.id in before and before[r.id] != r.email}
    result.extra.setdefault("email_changed", {}).update(changed)


PARTNERS = register_importer(
    Importer(
        "partners",
        PartnerRow,
        _write_partners,
        _check_partners,
        key=lambda r: (r.id,),
        table=Partner,
        help="Partner accounts: id, company_name, uscc, contact_email, type, status, ...",
    )
)
USERS = register_importer(
    Importer(
        "partner-users",
        UserRow,
        _write_users,
        _check_users,
        key=lambda r: (r.id,),
        table=User,
        help="Users: id, name, email, role, partner_id | customer_id (vendor staff have neither).",
    )
)
CUSTOMERS = register_importer(
    Importer(
        "customers",
        CustomerRow,
        _write_customers,
        _check_customers,
        key=lambda r: (r.id,),
        table=Customer,
        help="Customer accounts and the facts the binding rules read.",
    )
)
