"""Rows for tests: partners, users, customers and bindings with sensible defaults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.parties import Actor, AssociationMode, Role
from infra.tables import Binding, Customer, Partner, User


async def add_partner(
    sessions: async_sessionmaker[AsyncSession], pid: str = "P-1", **kw: Any
) -> Partner:
    """An ACTIVE solution provider with consulting permission unless told otherwise."""
    values: dict[str, Any] = dict(
        id=pid,
        company_name=f"{pid} Tech Co., Ltd.",
        uscc="91350100M000100Y43",
        contact_email=f"{pid.lower()}@partner.test",
        type="solution_provider",
        status="ACTIVE",
        business_certified=True,
        consulting_permission=True,
    )
    values.update(kw)
    async with sessions.begin() as s:
        row = Partner(**values)
        s.add(row)
    return row


async def add_user(
    sessions: async_sessionmaker[AsyncSession],
    uid: str,
    role: Role,
    partner_id: str | None = None,
    customer_id: str | None = None,
) -> Actor:
    """A user row, returned as the Actor a caller would resolve."""
    async with sessions.begin() as s:
        s.add(
            User(
                id=uid,
                name=uid,
                email=f"{uid}@users.test",
                role=role.value,
                partner_id=partner_id,
                customer_id=customer_id,
            )
        )
    return Actor(
        user_id=uid,
        role=role,
        name=uid,
        email=f"{uid}@users.test",
        partner_id=partner_id,
        customer_id=customer_id,
    )


async def add_customer(
    sessions: async_sessionmaker[AsyncSession], cid: str = "C-1", **kw: Any
) -> Customer:
    """A customer with no blocking facts unless told otherwise."""
    values: dict[str, Any] = dict(id=cid, name=f"{cid} Ltd", email=f"{cid.lower()}@customer.test")
    values.update(kw)
    async with sessions.begin() as s:
        row = Customer(**values)
        s.add(row)
    return row


async def add_binding(
    sessions: async_sessionmaker[AsyncSession],
    partner_id: str = "P-1",
    customer_id: str = "C-1",
    mode: AssociationMode | str = AssociationMode.RESALE,
    allocated: str = "0",
    **kw: Any,
) -> int:
    """An active binding, as an accepted invitation leaves it; returns its id. ``kw`` sets
    other columns (an id, when a workflow id is derived from it; when it started)."""
    values: dict[str, Any] = dict(
        idempotency_key=f"test:{partner_id}:{customer_id}:{uuid.uuid4().hex[:6]}",
        partner_id=partner_id,
        customer_id=customer_id,
        mode=AssociationMode(mode).value,
        status="active",
        awaiting_budget=False,
        allocated_balance=Decimal(allocated),
        created_by="test",
        started_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    values.update(kw)
    async with sessions.begin() as s:
        row = Binding(**values)
        s.add(row)
        await s.flush()
        return int(row.id)


def customer_actor(cid: str) -> Actor:
    """The customer account acting for itself."""
    return Actor(user_id=cid, role=Role.CUSTOMER, customer_id=cid)
