"""Rows and starters shared by the renewal, scan and authorization tests (no tests here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.parties import Actor, AssociationMode, Role
from domain.renewals import (
    Billing,
    RenewalRequest,
    RenewalStatus,
    RenewalTimings,
    RenewalView,
    SubscriptionSnapshot,
    renewal_workflow_id,
)
from infra.smtp_sink import MailSink
from infra.tables import Subscription
from tests import factories
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually
from workflows.renewal import RenewalWorkflow

THRESHOLD = Decimal("50000.00")
Sessions = async_sessionmaker[AsyncSession]


class Party:
    """The people of one partner-customer pair, as the tests act with them."""

    def __init__(self, admin: Actor, staff: Actor, staff2: Actor, manager: Actor) -> None:
        self.admin = admin
        self.staff = staff
        self.staff2 = staff2
        self.manager = manager


async def add_binding(
    sessions: async_sessionmaker[AsyncSession],
    partner_id: str,
    customer_id: str,
    mode: AssociationMode,
    at: datetime,
) -> None:
    """An active binding, as the invitation workflow would have created it."""
    await factories.add_binding(sessions, partner_id, customer_id, mode, started_at=at)


async def setup_party(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    partner_id: str = "P-1",
    customer_id: str = "C-1",
    partner_type: str = "solution_provider",
    mode: AssociationMode = AssociationMode.RESALE,
    distributor_id: str | None = None,
    with_manager: bool = True,
) -> Party:
    """A partner with admin and two staff, a bound customer, and an ecosystem manager."""
    await add_partner(sessions, partner_id, type=partner_type, distributor_id=distributor_id)
    p = partner_id.lower()
    admin = await add_user(sessions, f"{p}-admin", Role.PARTNER_ADMIN, partner_id=partner_id)
    staff = await add_user(sessions, f"{p}-staff", Role.PARTNER_STAFF, partner_id=partner_id)
    staff2 = await add_user(sessions, f"{p}-staff2", Role.PARTNER_STAFF, partner_id=partner_id)
    manager = (
        await add_user(sessions, "eco-1", Role.ECOSYSTEM_MANAGER)
        if with_manager
        else Actor(user_id="eco-1", role=Role.ECOSYSTEM_MANAGER)
    )
    await add_customer(sessions, customer_id)
    await add_binding(sessions, partner_id, customer_id, mode, now)
    return Party(admin, staff, staff2, manager)


async def add_subscription(
    sessions: async_sessionmaker[AsyncSession],
    order_id: str,
    customer_id: str,
    expires_at: datetime,
    *,
    amount: Decimal = Decimal("60000.00"),
    billing: Billing = Billing.YEARLY,
    auto_renew: bool = False,
    product: str = "ECS c7.4xlarge x 20",
) -> SubscriptionSnapshot:
    """A subscription row, returned as the snapshot the scan would pass on."""
    async with sessions.begin() as s:
        s.add(
            Subscription(
                order_id=order_id,
                customer_id=customer_id,
                product=product,
                amount=amount,
                billing=billing.value,
                expires_at=expires_at,
                auto_renew=auto_renew,
                updated_at=expires_at,
            )
        )
    return SubscriptionSnapshot(
        order_id=order_id,
        customer_id=customer_id,
        product=product,
        amount=amount,
        billing=billing,
        expires_at=expires_at,
        auto_renew=auto_renew,
    )


async def extend_subscription(
    sessions: async_sessionmaker[AsyncSession], order_id: str, new_expiry: datetime
) -> None:
    """What a billing import does when the customer renewed."""
    async with sessions.begin() as s:
        await s.execute(
            update(Subscription)
            .where(Subscription.order_id == order_id)
            .values(expires_at=new_expiry, updated_at=new_expiry)
        )


async def start_renewal(
    client: Client,
    task_queue: str,
    sub: SubscriptionSnapshot,
    *,
    partner_id: str = "P-1",
    mode: AssociationMode = AssociationMode.RESALE,
    timings: RenewalTimings | None = None,
) -> WorkflowHandle[Any, RenewalView]:
    """Starts a renewal as the scan does, and waits until its task is open."""
    handle = await client.start_workflow(
        RenewalWorkflow.run,
        RenewalRequest(
            subscription=sub, partner_id=partner_id, mode=mode, timings=timings or RenewalTimings()
        ),
        id=renewal_workflow_id(sub.order_id, sub.expires_at),
        task_queue=task_queue,
    )

    async def opened() -> None:
        v = await handle.query(RenewalWorkflow.status)
        assert v.status != RenewalStatus.STARTING

    await eventually(opened)
    return handle


async def server_now(env: WorkflowEnvironment) -> datetime:
    """The time-skipping server's clock (it runs ahead of the wall clock across tests)."""
    return await env.get_current_time()


def subjects(mailbox: MailSink, to: str) -> list[str]:
    """Subjects received by ``to`` (stripped: a long subject arrives folded)."""
    return [m.subject.strip() for m in mailbox.to(to)]


def days(n: float) -> timedelta:
    """Shorthand for test timelines."""
    return timedelta(days=n)
