"""Reading partners, customers and bindings as snapshots the pure rules can use.

The statements are built once (bound by name at execution): these reads run in nearly every
activity, and building an ORM ``get`` or ``select`` and its cache key cost more than the query
itself (0.53 ms for an ORM get against about 0.25 ms for a prebuilt one, measured here).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.parties import BindingSnapshot, CustomerSnapshot, PartnerSnapshot
from infra.tables import Binding, Customer, Partner


def _columns_of(table: Any, model: type[BaseModel]) -> Select[Any]:
    # Every field of the snapshot is a column of the same name (a KeyError at import if not).
    return select(*(table.__table__.c[name] for name in model.model_fields))


_PARTNER = _columns_of(Partner, PartnerSnapshot).where(Partner.id == bindparam("id"))
_CUSTOMER = _columns_of(Customer, CustomerSnapshot).where(Customer.id == bindparam("id"))
_ACTIVE_BINDING = _columns_of(Binding, BindingSnapshot).where(
    Binding.customer_id == bindparam("customer_id"), Binding.status == "active"
)


async def partner_snapshot(s: AsyncSession, partner_id: str) -> PartnerSnapshot | None:
    """The partner as the rules see it, or None."""
    row = (await s.execute(_PARTNER, {"id": partner_id})).first()
    return None if row is None else PartnerSnapshot.model_validate(row._mapping)


async def customer_snapshot(s: AsyncSession, customer_id: str) -> CustomerSnapshot | None:
    """The customer as the rules see it, or None."""
    row = (await s.execute(_CUSTOMER, {"id": customer_id})).first()
    return None if row is None else CustomerSnapshot.model_validate(row._mapping)


async def active_binding(s: AsyncSession, customer_id: str) -> BindingSnapshot | None:
    """The customer's active binding, if any (there is at most one)."""
    row = (await s.execute(_ACTIVE_BINDING, {"customer_id": customer_id})).first()
    return None if row is None else BindingSnapshot.model_validate(row._mapping)
