"""Drivers: seed the rows a workflow type needs, and drive one real workflow to its end with
its decisions, as a person would through the CLI (poll the status, then decide).

Every instance ``i`` has its own parties, so that no business rule (one open invitation per
pair, the unbinding frequency limit, one payout per partner and month) refuses a later one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Actor, AssociationMode, Decision, Role
from domain.renewals import (
    Billing,
    RenewalFeedback,
    RenewalOutcome,
    RenewalRequest,
    RenewalStatus,
    SubscriptionChanged,
    SubscriptionSnapshot,
    renewal_workflow_id,
)
from domain.unbinding import ChangeKind, ChangeRequest, RequestStatus
from infra.tables import Binding, Customer, Partner, Subscription, User
from infra.tables.unbinding import CustomerVoucher
from infra.temporal import index_attributes
from workflows.invitation import InvitationWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.unbinding import UnbindingWorkflow

Sessions = async_sessionmaker[AsyncSession]
V = TypeVar("V")

# The driver polls a status as the CLI does; backing off keeps the query load modest.
POLL_FIRST = 0.02
POLL_MAX = 0.25
POLL_TIMEOUT = 120.0


class StuckError(Exception):
    """A workflow did not reach the state the driver waits for."""


async def poll(fetch: Callable[[], Awaitable[V]], ready: Callable[[V], bool], what: str) -> V:
    """Calls ``fetch`` until ``ready`` holds, backing off from 20 ms to 250 ms.

    A query that times out (an overloaded worker answers late) is asked again, as a person
    would look again.
    """
    delay = POLL_FIRST
    deadline = asyncio.get_running_loop().time() + POLL_TIMEOUT
    value: V | str = "no answer"
    while True:
        try:
            value = await fetch()
        except RPCError as exc:
            value = f"no answer ({exc})"
        else:
            if ready(value):
                return value
        if asyncio.get_running_loop().time() > deadline:
            raise StuckError(f"{what}: still {value!r} after {POLL_TIMEOUT:.0f}s")
        await asyncio.sleep(delay)
        delay = min(POLL_MAX, delay * 1.5)


async def start_checked(
    client: Client,
    checked: Any,
    start: Callable[[], WithStartWorkflowOperation[Any, Any]],
    arg: Any = None,
) -> tuple[Any, WorkflowHandle[Any, Any]]:
    """Update-with-start of a workflow's ``checked`` update, as the product's starters do:
    its answer and the handle. Asked again (a fresh operation attaching to the workflow if it
    started, the same update id) when the RPC times out on an overloaded server."""
    update_id = f"bench-checked-{uuid.uuid4().hex}"
    deadline = asyncio.get_running_loop().time() + POLL_TIMEOUT
    while True:
        op = start()
        try:
            value = await client.execute_update_with_start_workflow(
                checked,
                args=[] if arg is None else [arg],
                start_workflow_operation=op,
                id=update_id,
            )
            return value, await op.workflow_handle()
        except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise StuckError(f"not started in {POLL_TIMEOUT:.0f}s: {exc}") from exc
            await asyncio.sleep(POLL_MAX)


async def decide(h: WorkflowHandle[Any, Any], update: Any, arg: Any) -> Any:
    """Sends an update and waits for its result; asks again with the same update id when the
    RPC times out or the server refuses for now (a workflow task timed out on an overloaded
    worker): Temporal runs an update id once. A rejected update is not retried."""
    update_id = f"bench-{uuid.uuid4().hex}"
    deadline = asyncio.get_running_loop().time() + POLL_TIMEOUT
    while True:
        try:
            return await h.execute_update(update, arg, id=update_id)
        except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise StuckError(f"{h.id}: update not taken in {POLL_TIMEOUT:.0f}s: {exc}") from exc
            await asyncio.sleep(POLL_MAX)


class Driver(Protocol):
    """One workflow type of the benchmark."""

    name: str
    # Whether the driver polls the workflow's status before its decisions (its twin then
    # does the same); the invitation's waits with an update instead (``sent``).
    polls: bool

    async def seed(self, sessions: Sessions, count: int) -> None:
        """Adds the rows for instances ``0 .. count-1``."""

    async def run_one(
        self, client: Client, sessions: Sessions, task_queue: str, i: int
    ) -> WorkflowHandle[Any, Any]:
        """Starts instance ``i`` and drives it to its end; fails unless it ends as expected."""


async def add_in_layers(sessions: Sessions, *layers: list[Any]) -> None:
    """Adds rows layer by layer in one transaction, so that parents exist before children
    (the tables have foreign keys but the models no relationships to order them by)."""
    async with sessions.begin() as s:
        for layer in layers:
            s.add_all(layer)
            await s.flush()


def partner(pid: str, uscc: str = "91350100M000100Y43", **kw: Any) -> Partner:
    """An ACTIVE certified solution provider."""
    values: dict[str, Any] = dict(
        id=pid,
        company_name=f"{pid} Bench Co., Ltd.",
        uscc=uscc,
        contact_email=f"{pid.lower()}@partner.bench",
        type="solution_provider",
        status="ACTIVE",
        business_certified=True,
        consulting_permission=True,
    )
    values.update(kw)
    return Partner(**values)


def user(uid: str, role: Role, partner_id: str | None = None) -> tuple[User, Actor]:
    """A user row and the actor a front door would resolve for it."""
    email = f"{uid.lower()}@users.bench"
    row = User(id=uid, name=uid, email=email, role=role.value, partner_id=partner_id)
    return row, Actor(user_id=uid, role=role, name=uid, email=email, partner_id=partner_id)


def customer_actor(cid: str) -> Actor:
    """The customer account acting for itself."""
    return Actor(user_id=cid, role=Role.CUSTOMER, customer_id=cid)


def binding(pid: str, cid: str, allocated: str = "0") -> Binding:
    """An active resale binding, as an accepted invitation leaves it."""
    return Binding(
        idempotency_key=f"bench:{pid}:{cid}",
        partner_id=pid,
        customer_id=cid,
        mode=AssociationMode.RESALE.value,
        status="active",
        awaiting_budget=False,
        allocated_balance=Decimal(allocated),
        created_by="bench",
        started_at=datetime(2026, 1, 5, tzinfo=UTC),
    )


@dataclass
class InvitationDriver:
    """A partner invites customer ``i``; the customer accepts."""

    name: str = "invitation"
    polls: bool = False
    staff: Actor | None = None

    async def seed(self, sessions: Sessions, count: int) -> None:
        """Partner P-INV with a staff user, customers CI-0..."""
        row, self.staff = user("ps-inv", Role.PARTNER_STAFF, "P-INV")
        customers = [
            Customer(id=f"CI-{i}", name=f"Customer {i}", email=f"ci-{i}@cust.bench")
            for i in range(count)
        ]
        await add_in_layers(sessions, [partner("P-INV")], [row, *customers])

    async def start(self, client: Client, task_queue: str, i: int) -> WorkflowHandle[Any, Any]:
        """Starts invitation ``i`` and waits until its email is out, in one call with no
        status polling (update-with-start of the workflow's ``sent`` update): the customer
        decides once invited."""
        assert self.staff is not None
        cid = f"CI-{i}"
        staff = self.staff
        view, h = await start_checked(
            client,
            InvitationWorkflow.sent,
            lambda: WithStartWorkflowOperation(
                InvitationWorkflow.run,
                InvitationRequest(partner_id="P-INV", customer_id=cid, requested_by=staff),
                id=f"invitation-P-INV-{cid}",
                task_queue=task_queue,
                search_attributes=index_attributes(partner_id="P-INV", customer_id=cid),
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            ),
        )
        if view.status != InvitationStatus.PENDING:
            raise StuckError(f"invitation {cid} is {view.status}: {view.reason}")
        return h

    async def run_one(
        self, client: Client, sessions: Sessions, task_queue: str, i: int
    ) -> WorkflowHandle[Any, Any]:
        """Invite, accept, wait for the end."""
        h = await self.start(client, task_queue, i)
        await decide(h, InvitationWorkflow.accept, Decision(actor=customer_actor(f"CI-{i}")))
        result = await h.result()
        if result.status != InvitationStatus.ACCEPTED:
            raise StuckError(f"{h.id} ended {result.status}: {result.reason}")
        return h


@dataclass
class UnbindingDriver:
    """The partner admin asks to end binding ``i``; the customer approves (balance recovered,
    vouchers disposed)."""

    name: str = "unbinding"
    polls: bool = True
    admin: Actor | None = None
    bindings: dict[int, int] = field(default_factory=dict)

    async def seed(self, sessions: Sessions, count: int) -> None:
        """Partner P-UNB with an admin, customers CU-i bound with a balance and two vouchers."""
        row, self.admin = user("pa-unb", Role.PARTNER_ADMIN, "P-UNB")
        customers = [
            Customer(id=f"CU-{i}", name=f"Customer {i}", email=f"cu-{i}@cust.bench")
            for i in range(count)
        ]
        rows = [binding("P-UNB", f"CU-{i}", allocated="500.00") for i in range(count)]
        vouchers = [
            CustomerVoucher(
                id=f"{prefix}-{i}",
                customer_id=f"CU-{i}",
                kind="voucher",
                issuer=issuer,
                issuer_partner_id=pid,
                balance=Decimal("50.00"),
                status="held",
            )
            for i in range(count)
            for prefix, issuer, pid in (("VP", "partner", "P-UNB"), ("VV", "vendor", None))
        ]
        await add_in_layers(
            sessions,
            [partner("P-UNB", uscc="91330106MA2H0XPF0Y")],
            [row, *customers],
            rows + vouchers,
        )
        self.bindings = {i: b.id for i, b in enumerate(rows)}

    async def run_one(
        self, client: Client, sessions: Sessions, task_queue: str, i: int
    ) -> WorkflowHandle[Any, Any]:
        """Request, approve as the customer, wait for the end."""
        assert self.admin is not None
        bid = self.bindings[i]
        h = await client.start_workflow(
            UnbindingWorkflow.run,
            ChangeRequest(binding_id=bid, kind=ChangeKind.UNBIND, requested_by=self.admin),
            id=f"binding-change-{bid}",
            task_queue=task_queue,
            search_attributes=index_attributes(partner_id="P-UNB", customer_id=f"CU-{i}"),
        )
        await poll(
            lambda: h.query(UnbindingWorkflow.status),
            lambda v: v.status != RequestStatus.CHECKING,
            h.id,
        )
        await decide(h, UnbindingWorkflow.approve, Decision(actor=customer_actor(f"CU-{i}")))
        result = await h.result()
        if result.status != RequestStatus.APPROVED:
            raise StuckError(f"{h.id} ended {result.status}")
        return h


@dataclass
class RenewalDriver:
    """A big order near expiry: partner staff claim it, say the customer will renew, and the
    billing import's signal completes it as RENEWED."""

    name: str = "renewal"
    polls: bool = True
    staff: Actor | None = None
    expiry: datetime = field(
        default_factory=lambda: (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
    )

    async def seed(self, sessions: Sessions, count: int) -> None:
        """Partner P-REN with staff; customers CR-i bound, each with a 60,000 yearly order."""
        row, self.staff = user("ps-ren", Role.PARTNER_STAFF, "P-REN")
        customers = [
            Customer(id=f"CR-{i}", name=f"Customer {i}", email=f"cr-{i}@cust.bench")
            for i in range(count)
        ]
        children: list[Any] = [binding("P-REN", f"CR-{i}") for i in range(count)]
        children += [
            Subscription(
                order_id=f"OR-{i}",
                customer_id=f"CR-{i}",
                product="ECS c7.4xlarge x 20",
                amount=Decimal("60000.00"),
                billing=Billing.YEARLY.value,
                expires_at=self.expiry,
                auto_renew=False,
                updated_at=self.expiry,
            )
            for i in range(count)
        ]
        await add_in_layers(
            sessions, [partner("P-REN", uscc="91440300MA5FCG0L5U")], [row, *customers], children
        )

    async def run_one(
        self, client: Client, sessions: Sessions, task_queue: str, i: int
    ) -> WorkflowHandle[Any, Any]:
        """Start as the scan does, claim, feedback, import the renewal, wait for the end."""
        assert self.staff is not None
        sub = SubscriptionSnapshot(
            order_id=f"OR-{i}",
            customer_id=f"CR-{i}",
            product="ECS c7.4xlarge x 20",
            amount=Decimal("60000.00"),
            billing=Billing.YEARLY,
            expires_at=self.expiry,
            auto_renew=False,
        )
        h = await client.start_workflow(
            RenewalWorkflow.run,
            RenewalRequest(subscription=sub, partner_id="P-REN", mode=AssociationMode.RESALE),
            id=renewal_workflow_id(sub.order_id, sub.expires_at),
            task_queue=task_queue,
            search_attributes=index_attributes(partner_id="P-REN", customer_id=f"CR-{i}"),
        )
        await poll(
            lambda: h.query(RenewalWorkflow.status),
            lambda v: v.status == RenewalStatus.OPEN,
            h.id,
        )
        await decide(h, RenewalWorkflow.claim, Decision(actor=self.staff))
        await decide(
            h,
            RenewalWorkflow.feedback,
            RenewalFeedback(actor=self.staff, outcome=RenewalOutcome.WILL_RENEW),
        )
        new_expiry = self.expiry + timedelta(days=365)
        async with sessions.begin() as s:
            await s.execute(
                update(Subscription)
                .where(Subscription.order_id == sub.order_id)
                .values(expires_at=new_expiry, updated_at=new_expiry)
            )
        await h.signal(
            RenewalWorkflow.subscription_changed,
            SubscriptionChanged(order_id=sub.order_id, expires_at=new_expiry, auto_renew=False),
        )
        result = await h.result()
        if result.status != RenewalStatus.RENEWED:
            raise StuckError(f"{h.id} ended {result.status}")
        return h
