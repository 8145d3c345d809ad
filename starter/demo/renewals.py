"""Demo rows for big-order renewals: bound customers of Cloudbridge (P-1001, a solution
provider) and Blue Harbor (P-1002, a cloud reseller under Great Wall, P-1003), with orders on
both sides of every rule of the scan, one that expires minutes after loading (it ends LOST),
and a ready billing file that renews one order.

Expiry dates are whole days ahead of the day of loading. An order already in the database
is left as it is while it has not expired: rewriting it with a later expiry would look like
a renewal in the billing data and complete its task.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.renewals import renewal_workflow_id
from infra.config import VAR_DIR
from infra.db import utcnow
from infra.tables import Binding, Customer, Subscription
from starter.services.context import AppContext

SINCE = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
RENEWED_FILE = VAR_DIR / "demo" / "subscriptions-renewed.csv"

# id, name, email, partner it is bound to (None: not bound), mode
CUSTOMERS = [
    ("C-2101", "Evergreen Manufacturing", "it@evergreen-mfg.example", "P-1001", "resale"),
    ("C-2102", "Harbor Hospital Group", "cloud@harbor-hospital.example", "P-1001", "consulting"),
    ("C-2103", "Skyline Games", "ops@skyline-games.example", "P-1002", "resale"),
    ("C-2104", "Riverside Logistics", "it@riverside-log.example", None, ""),
]

# order, customer, product, amount, billing, days ahead (None: minutes), auto-renew, what for
ORDERS: list[tuple[str, str, str, str, str, int | None, bool, str]] = [
    (
        "RN-EVG-1",
        "C-2101",
        "GaussDB primary/standby cluster",
        "128000.00",
        "yearly",
        20,
        False,
        "task; resale: partner_pays needs the customer's authorization",
    ),
    (
        "RN-EVG-2",
        "C-2101",
        "ECS c7.4xlarge x 40",
        "50000.00",
        "yearly",
        28,
        False,
        "task: exactly the threshold; the ready billing file renews it",
    ),
    (
        "RN-EVG-3",
        "C-2101",
        "CDN traffic package",
        "49999.99",
        "yearly",
        10,
        False,
        "no task: below the threshold",
    ),
    (
        "RN-HHG-1",
        "C-2102",
        "DCS Redis cluster",
        "66000.00",
        "monthly",
        5,
        False,
        "task; consulting: the solution provider may pay without authorization",
    ),
    (
        "RN-HHG-2",
        "C-2102",
        "RDS for MySQL",
        "90000.00",
        "monthly",
        12,
        False,
        "no task: a monthly order 12 days ahead",
    ),
    (
        "RN-HHG-3",
        "C-2102",
        "Dedicated host",
        "200000.00",
        "yearly",
        9,
        True,
        "no task: auto-renew is on",
    ),
    (
        "RN-SKY-1",
        "C-2103",
        "GPU inference fleet",
        "75000.00",
        "yearly",
        15,
        False,
        "task at a reseller: partner_pays asks the distributor, then the customer",
    ),
    (
        "RN-RIV-1",
        "C-2104",
        "Data warehouse",
        "300000.00",
        "yearly",
        3,
        False,
        "no task: the customer is not bound to a partner",
    ),
    (
        "RN-EVG-9",
        "C-2101",
        "MRS analytics cluster",
        "58000.00",
        "monthly",
        None,
        False,
        "task that expires 15 minutes after loading and ends LOST",
    ),
]
LOST_AFTER = timedelta(minutes=15)


async def _ensure_customer(s: AsyncSession, cid: str, name: str, email: str) -> None:
    row = await s.get(Customer, cid)
    if row is None:
        s.add(Customer(id=cid, name=name, email=email))
    else:
        row.name, row.email = name, email


async def _ensure_binding(s: AsyncSession, partner_id: str, customer_id: str, mode: str) -> bool:
    """The demo binding, active; False when the customer is bound elsewhere (left alone)."""
    active = await s.scalar(
        select(Binding).where(Binding.customer_id == customer_id, Binding.status == "active")
    )
    if active is not None:
        return active.partner_id == partner_id
    key = f"demo-renewals:{partner_id}:{customer_id}"
    row = await s.scalar(select(Binding).where(Binding.idempotency_key == key))
    if row is None:
        row = Binding(
            idempotency_key=key,
            partner_id=partner_id,
            customer_id=customer_id,
            created_by="demo-data",
            started_at=SINCE,
        )
        s.add(row)
    row.mode, row.status = mode, "active"
    row.ended_at = row.ended_by = row.ended_reason = None
    await s.flush()
    return True


def _expiry(today: datetime, now: datetime, days_ahead: int | None) -> datetime:
    if days_ahead is None:
        return (now + LOST_AFTER).replace(microsecond=0)
    return today + timedelta(days=days_ahead, hours=15, minutes=59)  # 23:59 in Beijing


async def load_renewals_demo(ctx: AppContext) -> dict[str, Any]:
    """Writes the rows (idempotent), the renewing billing file, and says what to try."""
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    expiries: dict[str, datetime] = {}
    async with ctx.sessions.begin() as s:
        for cid, name, email, partner_id, mode in CUSTOMERS:
            await _ensure_customer(s, cid, name, email)
            await s.flush()
            if partner_id is not None:
                await _ensure_binding(s, partner_id, cid, mode)
        for order, cid, product, amount, billing, ahead, auto, _ in ORDERS:
            row = await s.get(Subscription, order)
            if row is not None and row.expires_at > now:
                expiries[order] = row.expires_at
                continue
            values = dict(
                customer_id=cid,
                product=product,
                amount=Decimal(amount),
                billing=billing,
                expires_at=_expiry(today, now, ahead),
                auto_renew=auto,
                updated_at=now,
            )
            if row is None:
                s.add(Subscription(order_id=order, **values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)
            expiries[order] = values["expires_at"]  # type: ignore[assignment]
    _write_renewed_file(RENEWED_FILE, "RN-EVG-2", expiries["RN-EVG-2"])

    def task(order: str) -> str:
        return renewal_workflow_id(order, expiries[order])

    return {
        "renewal_orders": {o[0]: o[7] for o in ORDERS},
        "try_renewals": [
            "partnerflow renewals scan   # 5 tasks: RN-EVG-1, RN-EVG-2, RN-HHG-1, RN-SKY-1, RN-EVG-9",
            "partnerflow renewals list --as ps-liu",
            f"partnerflow renewal claim {task('RN-EVG-2')} --as ps-liu",
            f"partnerflow renewal feedback {task('RN-EVG-2')} --outcome will_renew --as ps-liu",
            f"partnerflow import subscriptions {RENEWED_FILE}   # completes it as RENEWED",
            f"partnerflow renewal feedback {task('RN-EVG-1')} --outcome partner_pays "
            "--accept-commitment-letter --as ps-liu",
            "partnerflow authorization approve authorization-P-1001-C-2101 --as C-2101",
            f"partnerflow renewal feedback {task('RN-HHG-1')} --outcome partner_pays --as pa-chen",
            f"partnerflow renewal feedback {task('RN-SKY-1')} --outcome partner_pays "
            "--accept-commitment-letter --as ps-zhou   # then: authorization approve "
            "authorization-P-1002-C-2103 --as pa-sun, then --as C-2103",
            f"partnerflow show {task('RN-EVG-9')}   # LOST at {expiries['RN-EVG-9']:%H:%M} UTC, "
            "Cloudbridge and em-wang emailed",
        ],
    }


def _write_renewed_file(path: Path, order: str, expires_at: datetime) -> None:
    """The billing export after the customer renewed ``order`` for a year."""
    spec = next(o for o in ORDERS if o[0] == order)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["order_id", "customer_id", "product", "amount", "billing", "expires_at", "auto_renew"]
        )
        w.writerow(
            [
                order,
                spec[1],
                spec[2],
                spec[3],
                spec[4],
                (expires_at + timedelta(days=365)).isoformat(),
                "false",
            ]
        )
