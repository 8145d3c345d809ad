"""Reading partners, customers and bindings as snapshots the pure rules can use."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.parties import BindingSnapshot, CustomerSnapshot, PartnerSnapshot
from infra.tables import Binding, Customer, Partner


async def partner_snapshot(s: AsyncSession, partner_id: str) -> PartnerSnapshot | None:
    """The partner as the rules see it, or None."""
    row = await s.get(Partner, partner_id, populate_existing=True)
    return None if row is None else PartnerSnapshot.model_validate(row, from_attributes=True)


async def customer_snapshot(s: AsyncSession, customer_id: str) -> CustomerSnapshot | None:
    """The customer as the rules see it, or None."""
    row = await s.get(Customer, customer_id, populate_existing=True)
    return None if row is None else CustomerSnapshot.model_validate(row, from_attributes=True)


async def active_binding(s: AsyncSession, customer_id: str) -> BindingSnapshot | None:
    """The customer's active binding, if any (there is at most one)."""
    row = await s.scalar(
        select(Binding)
        .where(Binding.customer_id == customer_id, Binding.status == "active")
        .execution_options(populate_existing=True)
    )
    return None if row is None else BindingSnapshot.model_validate(row, from_attributes=True)
