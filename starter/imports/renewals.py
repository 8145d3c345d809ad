"""The ``subscriptions`` importer: the subscriptions the renewal scan reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.renewals import (
    SubscriptionRow,
)
from domain.text import MarkedText
from infra.db import utcnow
from infra.tables import Customer, Subscription
from starter.imports.base import (
    NO_CUSTOMER_YET,
    Importer,
    ImportResult,
    RowError,
    duplicates,
    register_importer,
)


async def _check_subscriptions(s: AsyncSession, rows: list[SubscriptionRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: r.order_id, "order_id")
    known = set(
        (
            await s.scalars(
                select(Customer.id).where(Customer.id.in_({r.customer_id for r in rows}))
            )
        ).all()
    )
    for n, r in enumerate(rows, start=1):
        if r.customer_id not in known:
            errors.append(RowError(n, "customer_id", MarkedText(NO_CUSTOMER_YET, id=r.customer_id)))
    return errors


async def _write_subscriptions(
    s: AsyncSession, rows: list[SubscriptionRow], result: ImportResult
) -> None:
    ids = [r.order_id for r in rows]
    existing = {
        x.order_id: x
        for x in (await s.scalars(select(Subscription).where(Subscription.order_id.in_(ids)))).all()
    }
    now = utcnow()
    extended: dict[str, str] = {}
    for r in rows:
        values = r.model_dump()
        values["billing"] = r.billing.value
        row = existing.get(r.order_id)
        if row is None:
            s.add(Subscription(**values, updated_at=now))
            result.inserted += 1
            continue
        if r.expires_at > row.expires_at:
            # A later expiry is how a renewal shows up in the billing data.
            extended[r.order_id] = row.expires_at.isoformat()
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = now
        result.updated += 1
    result.extra.setdefault("expiry_extended", {}).update(extended)


SUBSCRIPTIONS = register_importer(
    Importer(
        "subscriptions",
        SubscriptionRow,
        _write_subscriptions,
        _check_subscriptions,
        key=lambda r: (r.order_id,),
        help="Yearly/monthly orders: order_id, customer_id, product, amount, billing, "
        "expires_at (with time zone), auto_renew. A later expiry completes its renewal task.",
    )
)
