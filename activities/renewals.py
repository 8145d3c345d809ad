"""Activities of big-order renewals and customer authorizations.

The scan reads subscriptions page by page and starts renewal workflows in batches with the
worker's client; the renewal and authorization workflows read fresh facts and record their
state in ``renewal_tasks`` / ``customer_authorizations``. Every write is keyed by a business
id, so a retried activity changes nothing twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.errors import business_errors
from activities.parties import active_binding, customer_snapshot, partner_snapshot
from activities.tasks import apply_step
from domain.authorizations import (
    AuthorizationContext,
    AuthorizationStatus,
    Contact,
    is_reusable,
)
from domain.parties import AssociationMode, Role
from domain.renewal_models import (
    AuthorizationContextQuery,
    AuthorizationFound,
    AuthorizationLookup,
    AuthorizationRecord,
    AuthorizationRef,
    CandidatePage,
    CandidateQuery,
    LetterAcceptance,
    LetterRef,
    RenewalContextQuery,
    RenewalRecord,
    StartedBatch,
    StartRenewals,
    SubscriptionQuery,
    SubscriptionState,
)
from domain.renewals import (
    RENEWAL_WORKFLOW_TYPE,
    Billing,
    RenewalCandidate,
    RenewalContext,
    RenewalRequest,
    RenewalStatus,
    SubscriptionSnapshot,
    is_renewal_candidate,
)
from domain.tasks import Done
from infra.db import insert_ignore, utcnow
from infra.tables import (
    Binding,
    CommitmentLetter,
    CustomerAuthorization,
    RenewalTask,
    Subscription,
    User,
)
from infra.temporal import index_attributes

# How many workflow starts one batch runs at once (each is one RPC to the server).
START_CONCURRENCY = 32


# ----- payloads ------------------------------------------------------------------------------


# ----- renewals -----------------------------------------------------------------------------


def _subscription(row: Subscription) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(
        order_id=row.order_id,
        customer_id=row.customer_id,
        product=row.product,
        amount=row.amount,
        billing=Billing(row.billing),
        expires_at=row.expires_at,
        auto_renew=row.auto_renew,
    )


async def _contacts(s: AsyncSession, role: Role, partner_id: str | None = None) -> list[Contact]:
    q = select(User).where(User.role == role.value, User.active.is_(True)).order_by(User.id)
    if partner_id is not None:
        q = q.where(User.partner_id == partner_id)
    return [Contact(user_id=u.id, name=u.name, email=u.email) for u in (await s.scalars(q)).all()]


class RenewalActivities:
    """Database work of the scan and renewal workflows, and starting renewal workflows."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._indexable: bool | None = None

    @activity.defn
    @business_errors
    async def find_renewal_candidates(self, req: CandidateQuery) -> CandidatePage:
        """One page of orders that need a renewal task at ``as_of`` (docs/renewals.md).

        The database narrows to auto-renew off, expiry inside the widest lead window and an
        active binding; the domain rule then decides per order (threshold, per-kind window).
        Money is text on SQLite, so the threshold is compared in Python, not in SQL.
        """
        policy = req.policy
        q = (
            select(Subscription, Binding.partner_id, Binding.mode)
            .join(
                Binding,
                (Binding.customer_id == Subscription.customer_id) & (Binding.status == "active"),
            )
            .where(
                Subscription.auto_renew.is_(False),
                Subscription.expires_at > req.as_of,
                Subscription.expires_at <= req.as_of + policy.longest_lead,
            )
            .order_by(Subscription.order_id)
            .limit(req.limit)
        )
        if req.after_order_id is not None:
            q = q.where(Subscription.order_id > req.after_order_id)
        async with self._sessions() as s:
            rows = (await s.execute(q)).all()
        candidates = []
        for sub_row, partner_id, mode in rows:
            sub = _subscription(sub_row)
            if is_renewal_candidate(sub, partner_id, req.as_of, policy):
                candidates.append(
                    RenewalCandidate(
                        subscription=sub, partner_id=partner_id, mode=AssociationMode(mode)
                    )
                )
        last = rows[-1][0].order_id if rows else None
        return CandidatePage(
            candidates=candidates,
            scanned=len(rows),
            next_after=last if len(rows) == req.limit else None,
        )

    @activity.defn
    @business_errors
    async def start_renewals(self, req: StartRenewals) -> StartedBatch:
        """Starts the renewal workflows of one batch; a rerun starts nothing twice.

        The row is written first, then the workflow is started with REJECT_DUPLICATE, then
        the row is marked started. A row marked started is skipped even after Temporal
        dropped the closed workflow (retention), so a declined task never comes back.
        """
        if not req.candidates:
            return StartedBatch(started=0, already_existing=0)
        client = activity.client()
        now = utcnow()
        ids = [c.workflow_id for c in req.candidates]
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, RenewalTask, ["workflow_id"]),
                [_starting_row(c, now) for c in req.candidates],
            )
            done = set(
                (
                    await s.scalars(
                        select(RenewalTask.workflow_id).where(
                            RenewalTask.workflow_id.in_(ids), RenewalTask.workflow_started.is_(True)
                        )
                    )
                ).all()
            )
        to_start = [c for c in req.candidates if c.workflow_id not in done]
        indexed = await self._search_attributes_known(client)
        gate = asyncio.Semaphore(START_CONCURRENCY)

        async def start(c: RenewalCandidate) -> bool:
            async with gate:
                try:
                    await client.start_workflow(
                        RENEWAL_WORKFLOW_TYPE,
                        RenewalRequest(
                            subscription=c.subscription,
                            partner_id=c.partner_id,
                            mode=c.mode,
                            timings=req.timings,
                        ),
                        id=c.workflow_id,
                        task_queue=req.task_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        search_attributes=(
                            index_attributes(
                                partner_id=c.partner_id, customer_id=c.subscription.customer_id
                            )
                            if indexed
                            else None
                        ),
                    )
                except WorkflowAlreadyStartedError:
                    return False
                finally:
                    activity.heartbeat()
                return True

        results = await asyncio.gather(*(start(c) for c in to_start))
        if to_start:
            async with self._sessions.begin() as s:
                await s.execute(
                    update(RenewalTask)
                    .where(RenewalTask.workflow_id.in_([c.workflow_id for c in to_start]))
                    .values(workflow_started=True)
                )
        started = sum(results)
        return StartedBatch(started=started, already_existing=len(req.candidates) - started)

    async def _search_attributes_known(self, client: Client) -> bool:
        """True when the server knows PartnerId/CustomerId (the test server knows none)."""
        if self._indexable is None:
            try:
                resp = await client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=client.namespace)
                )
                known = resp.custom_attributes
                self._indexable = "PartnerId" in known and "CustomerId" in known
            except RPCError:
                self._indexable = False
        return self._indexable

    @activity.defn
    @business_errors
    async def load_renewal_context(self, req: RenewalContextQuery) -> RenewalContext:
        """The order, partner, customer, binding and ecosystem managers, read now."""
        async with self._sessions() as s:
            row = await s.get(Subscription, req.order_id, populate_existing=True)
            return RenewalContext(
                subscription=None if row is None else _subscription(row),
                partner=await partner_snapshot(s, req.partner_id),
                customer=await customer_snapshot(s, req.customer_id),
                binding=await active_binding(s, req.customer_id),
                managers=await _contacts(s, Role.ECOSYSTEM_MANAGER),
            )

    @activity.defn
    @business_errors
    async def check_renewal_subscription(self, req: SubscriptionQuery) -> SubscriptionState:
        """The daily look at the billing data: the order as it is now."""
        async with self._sessions() as s:
            row = await s.get(Subscription, req.order_id, populate_existing=True)
            return SubscriptionState(current=None if row is None else _subscription(row))

    @activity.defn
    @business_errors
    async def record_renewal(self, req: RenewalRecord) -> Done:
        """Writes the task row once, then keeps it equal to the workflow's view."""
        v = req.view
        state = dict(
            status=v.status.value,
            escalated=v.escalated,
            claimed_by=v.claimed_by,
            claimed_at=v.claimed_at,
            outcome=v.outcome.value if v.outcome else None,
            reason=v.reason,
            decided_by=v.decided_by,
            decided_at=v.decided_at,
            authorization_workflow_id=v.authorization_workflow_id,
            renewed_until=v.renewed_until,
            updated_at=req.at,
        )
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            await s.execute(
                insert_ignore(s, RenewalTask, ["workflow_id"]).values(
                    workflow_id=v.workflow_id,
                    order_id=v.order_id,
                    expires_at=v.expires_at,
                    customer_id=v.customer_id,
                    partner_id=v.partner_id,
                    product=v.product,
                    amount=v.amount,
                    billing=v.billing.value,
                    mode=v.mode.value,
                    workflow_started=True,
                    created_at=req.at,
                    **state,
                )
            )
            await s.execute(
                update(RenewalTask)
                .where(RenewalTask.workflow_id == v.workflow_id)
                .values(workflow_started=True, **state)
            )
        return Done()


def _starting_row(c: RenewalCandidate, now: datetime) -> dict[str, object]:
    sub = c.subscription
    return dict(
        workflow_id=c.workflow_id,
        order_id=sub.order_id,
        expires_at=sub.expires_at,
        customer_id=sub.customer_id,
        partner_id=c.partner_id,
        product=sub.product,
        amount=sub.amount,
        billing=sub.billing.value,
        mode=c.mode.value,
        status=RenewalStatus.STARTING.value,
        escalated=False,
        workflow_started=False,
        created_at=now,
        updated_at=now,
    )


# ----- authorizations -----------------------------------------------------------------------


class AuthorizationActivities:
    """Database work of the customer authorization workflow."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    @business_errors
    async def load_authorization_context(
        self, req: AuthorizationContextQuery
    ) -> AuthorizationContext:
        """Partner, customer, binding, the reseller's distributor and its admins, read now."""
        async with self._sessions() as s:
            partner = await partner_snapshot(s, req.partner_id)
            distributor = None
            admins: list[Contact] = []
            if partner is not None and partner.distributor_id is not None:
                distributor = await partner_snapshot(s, partner.distributor_id)
                admins = await _contacts(s, Role.PARTNER_ADMIN, partner.distributor_id)
            letter = await s.scalar(
                select(CommitmentLetter.id).where(CommitmentLetter.partner_id == req.partner_id)
            )
            return AuthorizationContext(
                partner=partner,
                customer=await customer_snapshot(s, req.customer_id),
                binding=await active_binding(s, req.customer_id),
                distributor=distributor,
                distributor_admins=admins,
                letter_accepted=letter is not None,
            )

    @activity.defn
    @business_errors
    async def find_authorization(self, req: AuthorizationLookup) -> AuthorizationFound:
        """The newest authorization of the pair that can be reused, or is still pending."""
        async with self._sessions() as s:
            rows = (
                await s.scalars(
                    select(CustomerAuthorization)
                    .where(
                        CustomerAuthorization.partner_id == req.partner_id,
                        CustomerAuthorization.customer_id == req.customer_id,
                    )
                    .order_by(CustomerAuthorization.id.desc())
                    .limit(10)
                )
            ).all()
            letter = await s.scalar(
                select(CommitmentLetter.id).where(CommitmentLetter.partner_id == req.partner_id)
            )
        found = AuthorizationFound(letter_accepted=letter is not None)
        for row in rows:
            status = AuthorizationStatus(row.status)
            ref = AuthorizationRef(
                workflow_id=row.workflow_id, status=status, valid_until=row.valid_until
            )
            if is_reusable(status, row.valid_until, req.at):
                found.reusable = ref
                break
            if status in (
                AuthorizationStatus.AWAITING_DISTRIBUTOR,
                AuthorizationStatus.AWAITING_CUSTOMER,
            ) and (row.deadline_at is None or row.deadline_at > req.at):
                found.pending = ref
                break
        return found

    @activity.defn
    @business_errors
    async def accept_commitment_letter(self, req: LetterAcceptance) -> LetterRef:
        """Records the partner's acceptance once per letter version; a repeat returns the first."""
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, CommitmentLetter, ["partner_id", "version"]).values(
                    partner_id=req.partner_id,
                    version=req.version,
                    text=req.text,
                    accepted_by=req.accepted_by,
                    accepted_at=req.accepted_at,
                    workflow_id=req.workflow_id,
                )
            )
            row = await s.scalar(
                select(CommitmentLetter).where(
                    CommitmentLetter.partner_id == req.partner_id,
                    CommitmentLetter.version == req.version,
                )
            )
            assert row is not None
            return LetterRef(id=row.id, accepted_by=row.accepted_by, accepted_at=row.accepted_at)

    @activity.defn
    @business_errors
    async def record_authorization(self, req: AuthorizationRecord) -> Done:
        """Writes the row of this run once, then keeps it equal to the workflow's view."""
        v = req.view
        state = dict(
            status=v.status.value,
            distributor_approved_by=v.distributor_approved_by,
            decided_by=v.decided_by,
            decided_at=v.decided_at,
            deadline_at=v.deadline_at,
            valid_until=v.valid_until,
            revoked_by=v.revoked_by,
            revoked_at=v.revoked_at,
            reason=v.reason,
            updated_at=req.at,
        )
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            await s.execute(
                insert_ignore(s, CustomerAuthorization, ["run_key"]).values(
                    run_key=req.run_key,
                    workflow_id=v.workflow_id,
                    partner_id=v.partner_id,
                    customer_id=v.customer_id,
                    distributor_id=v.distributor_id,
                    purpose=v.purpose,
                    requested_by=v.requested_by,
                    requested_at=req.requested_at,
                    **state,
                )
            )
            await s.execute(
                update(CustomerAuthorization)
                .where(CustomerAuthorization.run_key == req.run_key)
                .values(**state)
            )
        return Done()
