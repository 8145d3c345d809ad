"""Demo rows for unbinding and switching: bound customers of Cloudbridge (P-1001), one in
resale with an allocation and vouchers of every kind, one in consulting, one in arrears."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from infra.tables import Binding
from infra.tables.unbinding import CustomerVoucher
from starter.services.context import AppContext

PARTNER = "P-1001"
SINCE = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

# customer, mode, the partner's unused allocation
BINDINGS = [
    ("C-2011", "resale", Decimal("12000.00")),  # Northwind Logistics
    ("C-2012", "consulting", Decimal("0.00")),  # Jade Media
    ("C-2013", "resale", Decimal("800.00")),  # Arrears Trading: the arrears pre-check refuses
]

# id, customer, kind, issuer, issuing partner, balance
VOUCHERS = [
    ("NW-PV-01", "C-2011", "voucher", "partner", PARTNER, Decimal("2000.00")),
    ("NW-PC-01", "C-2011", "cash_coupon", "partner", PARTNER, Decimal("300.00")),
    ("NW-VV-01", "C-2011", "voucher", "vendor", None, Decimal("500.00")),
    ("NW-VC-01", "C-2011", "cash_coupon", "vendor", None, Decimal("100.00")),
]


async def _ensure_binding(
    s: AsyncSession, customer_id: str, mode: str, allocated: Decimal
) -> int | None:
    """The demo binding, active again with these values; None when the customer is bound
    elsewhere meanwhile (e.g. re-invited by another partner), which is left alone."""
    key = f"demo:{PARTNER}:{customer_id}"
    row = await s.scalar(select(Binding).where(Binding.idempotency_key == key))
    active = await s.scalar(
        select(Binding).where(Binding.customer_id == customer_id, Binding.status == "active")
    )
    if active is not None and (row is None or active.id != row.id):
        return active.id if active.partner_id == PARTNER else None
    if row is None:
        row = Binding(
            idempotency_key=key,
            partner_id=PARTNER,
            customer_id=customer_id,
            created_by="demo-data",
            started_at=SINCE,
        )
        s.add(row)
    row.mode, row.status, row.allocated_balance = mode, "active", allocated
    row.awaiting_budget = False
    row.ended_at = row.ended_by = row.ended_reason = None
    await s.flush()
    return row.id


async def load_unbinding_demo(ctx: AppContext) -> dict[str, Any]:
    """Writes the rows (idempotent) and says what to try."""
    ids: dict[str, int | None] = {}
    async with ctx.sessions.begin() as s:
        for customer_id, mode, allocated in BINDINGS:
            ids[customer_id] = await _ensure_binding(s, customer_id, mode, allocated)
        for vid, customer_id, kind, issuer, partner_id, balance in VOUCHERS:
            values = dict(
                id=vid,
                customer_id=customer_id,
                kind=kind,
                issuer=issuer,
                issuer_partner_id=partner_id,
                balance=balance,
                status="held",
                issued_at=SINCE,
                disposed_at=None,
            )
            voucher = await s.get(CustomerVoucher, vid)
            if voucher is None:
                s.add(CustomerVoucher(**values))
            else:
                for k, v in values.items():
                    setattr(voucher, k, v)
    nw, jade, arrears = ids["C-2011"], ids["C-2012"], ids["C-2013"]
    tries = []
    if nw is not None:
        tries += [
            f"partnerflow unbind --binding {nw} --as ps-liu   # refused: partner_admin only",
            f"partnerflow unbind --binding {nw} --as pa-chen --reason 'contract ended'",
            f"partnerflow request approve binding-change-{nw} --as C-2011   "
            "# or the link in the customer's email",
        ]
    if jade is not None:
        tries += [
            f"partnerflow switch-mode --binding {jade} --to resale --as pa-chen",
            f"partnerflow unbind --binding {jade} --as C-2012   # the customer asks to leave",
        ]
    if arrears is not None:
        tries.append(f"partnerflow unbind --binding {arrears} --as pa-chen   # refused: arrears")
    return {"unbinding": {"bindings": ids, "vouchers": [v[0] for v in VOUCHERS], "try": tries}}
