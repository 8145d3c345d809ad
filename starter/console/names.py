"""Names beside ids: a page names the partner and the customer, not only their ids."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.tables import Customer, Partner

LABELS = {
    "partner id": "partner",
    "partner_id": "partner",
    "customer id": "customer",
    "customer_id": "customer",
}


async def with_names(
    sessions: async_sessionmaker[AsyncSession], rows: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """``("partner id", "P-1")`` becomes ``("partner", "P-1 Tech Co., Ltd. (P-1)")``."""
    out: list[tuple[str, str]] = []
    async with sessions() as s:
        for key, value in rows:
            label = LABELS.get(key)
            if label == "partner":
                partner = await s.get(Partner, value)
                value = f"{partner.company_name} ({value})" if partner else value
            elif label == "customer":
                customer = await s.get(Customer, value)
                value = f"{customer.name} ({value})" if customer else value
            out.append((label or key, value))
    return out
