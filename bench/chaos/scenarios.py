"""What the chaos run drives: every workflow type to each of its ends, with business durations
in seconds. The rows come from the benchmark's drivers (``bench/drivers*.py``: one partner or
customer per instance, so that no business rule refuses a later instance); the steps are
taken here through ``bench.chaos.ops``, which rides out the injected faults.

A case is one workflow: ``(kind, outcome, i)``; instance numbers of the outcomes of one kind
are disjoint ranges of the same seeded rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from temporalio.client import Client

from bench.chaos import ops
from bench.chaos.flows import onboarding_approved, payout_paid
from bench.chaos.procs import TASK_QUEUE
from bench.drivers import (
    InvitationDriver,
    RenewalDriver,
    Sessions,
    UnbindingDriver,
    customer_actor,
)
from bench.drivers_more import IncentiveDriver, OnboardingDriver
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import AssociationMode, Decision
from domain.renewals import (
    Billing,
    RenewalFeedback,
    RenewalOutcome,
    RenewalRequest,
    RenewalStatus,
    RenewalTimings,
    SubscriptionChanged,
    SubscriptionSnapshot,
    renewal_workflow_id,
)
from domain.unbinding import ChangeKind, ChangeRequest, RequestStatus
from infra.tables import Subscription
from infra.temporal import index_attributes
from workflows.invitation import InvitationWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.unbinding import UnbindingWorkflow

# (kind, outcome): the workflow's final status the case must reach.
CASES: dict[tuple[str, str], str] = {
    ("invitation", "accepted"): InvitationStatus.ACCEPTED.value,
    ("invitation", "declined"): InvitationStatus.DECLINED.value,
    ("invitation", "expired"): InvitationStatus.EXPIRED.value,
    ("unbinding", "approved"): RequestStatus.APPROVED.value,
    ("unbinding", "lapsed"): RequestStatus.LAPSED.value,
    ("payout", "paid"): "PAID",
    ("renewal", "renewed"): RenewalStatus.RENEWED.value,
    ("renewal", "lost"): RenewalStatus.LOST.value,
    ("onboarding", "approved"): "APPROVED",
}
OUTCOMES: dict[str, list[str]] = {}
for _kind, _outcome in CASES:
    OUTCOMES.setdefault(_kind, []).append(_outcome)


def counts_of(n: int | None = None, per_type: int | None = None) -> dict[tuple[str, str], int]:
    """Cases per (kind, outcome): ``n`` of each, or ``per_type`` of each kind split as evenly
    as possible over its outcomes (the first outcomes take the remainder)."""
    if per_type is None:
        return dict.fromkeys(CASES, n if n is not None else 0)
    out: dict[tuple[str, str], int] = {}
    for kind, outcomes in OUTCOMES.items():
        base, extra = divmod(per_type, len(outcomes))
        for k, outcome in enumerate(outcomes):
            out[(kind, outcome)] = base + (1 if k < extra else 0)
    return out


@dataclass(frozen=True)
class Case:
    """One workflow of the run."""

    kind: str
    outcome: str
    i: int  # instance number within the kind's seeded rows

    @property
    def expected(self) -> str:
        """The final status it must reach."""
        return CASES[(self.kind, self.outcome)]


@dataclass
class Fleet:
    """The seeded rows of every kind, and how to drive one case to its end."""

    counts: dict[tuple[str, str], int]  # cases per (kind, outcome)
    business: timedelta  # a validity / approval window / time to expiry, in seconds
    inv: InvitationDriver
    unb: UnbindingDriver
    ren: RenewalDriver
    pay: IncentiveDriver
    onb: OnboardingDriver

    def of_kind(self, kind: str) -> int:
        """Cases of ``kind``, all outcomes."""
        return sum(self.counts.get((kind, outcome), 0) for outcome in OUTCOMES[kind])

    @classmethod
    async def seed(
        cls, sessions: Sessions, counts: dict[tuple[str, str], int], business_seconds: float
    ) -> Fleet:
        """Rows for ``counts[(kind, outcome)]`` cases of every (kind, outcome)."""
        fleet = cls(
            counts=counts,
            business=timedelta(seconds=business_seconds),
            inv=InvitationDriver(),
            unb=UnbindingDriver(),
            ren=RenewalDriver(),
            pay=IncentiveDriver(),
            onb=OnboardingDriver(),
        )
        await fleet.inv.seed(sessions, fleet.of_kind("invitation"))
        await fleet.unb.seed(sessions, fleet.of_kind("unbinding"))
        await fleet.ren.seed(sessions, fleet.of_kind("renewal"))
        await fleet.pay.seed(sessions, fleet.of_kind("payout"))
        await fleet.onb.seed(sessions, fleet.of_kind("onboarding"))
        return fleet

    def cases(self) -> list[Case]:
        """Every case: ``counts[(kind, outcome)]`` of each, outcomes of a kind on disjoint
        ranges of its seeded rows."""
        out: list[Case] = []
        for kind, outcomes in OUTCOMES.items():
            first = 0
            for outcome in outcomes:
                n = self.counts.get((kind, outcome), 0)
                out += [Case(kind, outcome, first + j) for j in range(n)]
                first += n
        return out

    def runner(self, case: Case) -> Callable[[Client, Sessions], Awaitable[tuple[str, str]]]:
        """The coroutine function driving ``case``: returns (workflow id, final status)."""
        table: dict[str, Callable[[Client, Sessions, Case], Awaitable[tuple[str, str]]]] = {
            "invitation": self._invitation,
            "unbinding": self._unbinding,
            "renewal": self._renewal,
            "payout": lambda c, s, k: payout_paid(self.pay, c, k.i),
            "onboarding": lambda c, s, k: onboarding_approved(self.onb, c, s, k.i),
        }
        run = table[case.kind]
        return lambda client, sessions: run(client, sessions, case)

    async def _invitation(self, client: Client, sessions: Sessions, case: Case) -> tuple[str, str]:
        assert self.inv.staff is not None
        cid = f"CI-{case.i}"
        timing: dict[str, Any] = {}
        if case.outcome == "expired":
            timing = {"validity": self.business, "reminder_before": self.business / 2}
        req = InvitationRequest(
            partner_id="P-INV", customer_id=cid, requested_by=self.inv.staff, **timing
        )
        start: dict[str, Any] = {
            "id": f"invitation-P-INV-{cid}",
            "task_queue": TASK_QUEUE,
            "search_attributes": index_attributes(partner_id="P-INV", customer_id=cid),
        }
        if case.outcome == "expired":  # nothing to decide: start, wait for the end
            h = await ops.start(client, InvitationWorkflow.run, req, **start)
        else:
            # Started and past its checks in one call; then the customer's decision.
            h, _ = await ops.start_checked(
                client, InvitationWorkflow.run, req, InvitationWorkflow.checked, **start
            )
            decision = Decision(actor=customer_actor(cid))
            if case.outcome == "accepted":
                await ops.decide(h, InvitationWorkflow.accept, decision)
            else:
                await ops.decide(h, InvitationWorkflow.decline, decision)
        view = await ops.result(h)
        return h.id, str(view.status)

    async def _unbinding(self, client: Client, sessions: Sessions, case: Case) -> tuple[str, str]:
        assert self.unb.admin is not None
        bid = self.unb.bindings[case.i]
        timing: dict[str, Any] = {}
        if case.outcome == "lapsed":
            timing = {"approval_window": self.business, "reminder_before": self.business / 2}
        req = ChangeRequest(
            binding_id=bid, kind=ChangeKind.UNBIND, requested_by=self.unb.admin, **timing
        )
        start: dict[str, Any] = {
            "id": f"binding-change-{bid}",
            "task_queue": TASK_QUEUE,
            "search_attributes": index_attributes(partner_id="P-UNB", customer_id=f"CU-{case.i}"),
        }
        if case.outcome == "approved":
            h, _ = await ops.start_checked(
                client, UnbindingWorkflow.run, req, UnbindingWorkflow.checked, **start
            )
            decision = Decision(actor=customer_actor(f"CU-{case.i}"))
            await ops.decide(h, UnbindingWorkflow.approve, decision)
        else:  # lapses: nothing to decide
            h = await ops.start(client, UnbindingWorkflow.run, req, **start)
        view = await ops.result(h)
        return h.id, str(view.status)

    async def _renewal(self, client: Client, sessions: Sessions, case: Case) -> tuple[str, str]:
        assert self.ren.staff is not None
        i = case.i
        lost = case.outcome == "lost"
        expiry = self.ren.expiry
        timings = RenewalTimings()
        if lost:
            # Expires a business interval from now; one reminder and the escalation before.
            expiry = (datetime.now(UTC) + 2 * self.business).replace(microsecond=0)
            timings = RenewalTimings(
                reminders_before=[self.business / 2],
                escalate_unclaimed_before=self.business,
                billing_check_interval=self.business / 2,
            )
            async with sessions.begin() as s:
                await s.execute(
                    update(Subscription)
                    .where(Subscription.order_id == f"OR-{i}")
                    .values(expires_at=expiry, updated_at=expiry)
                )
        sub = SubscriptionSnapshot(
            order_id=f"OR-{i}",
            customer_id=f"CR-{i}",
            product="ECS c7.4xlarge x 20",
            amount=Decimal("60000.00"),
            billing=Billing.YEARLY,
            expires_at=expiry,
            auto_renew=False,
        )
        req = RenewalRequest(
            subscription=sub, partner_id="P-REN", mode=AssociationMode.RESALE, timings=timings
        )
        start: dict[str, Any] = {
            "id": renewal_workflow_id(sub.order_id, sub.expires_at),
            "task_queue": TASK_QUEUE,
            "search_attributes": index_attributes(partner_id="P-REN", customer_id=f"CR-{i}"),
        }
        if lost:  # nobody acts: start, wait for the end
            h = await ops.start(client, RenewalWorkflow.run, req, **start)
        else:
            h, _ = await ops.start_checked(
                client, RenewalWorkflow.run, req, RenewalWorkflow.checked, **start
            )
            await _renew(h, sessions, self.ren.staff, sub, expiry)
        view = await ops.result(h)
        return h.id, str(view.status)


async def _renew(
    h: Any, sessions: Sessions, staff: Any, sub: SubscriptionSnapshot, expiry: datetime
) -> None:
    """Claim, say the customer will renew, then the billing import shows the renewal."""
    await ops.decide(h, RenewalWorkflow.claim, Decision(actor=staff))
    await ops.decide(
        h,
        RenewalWorkflow.feedback,
        RenewalFeedback(actor=staff, outcome=RenewalOutcome.WILL_RENEW),
    )
    new_expiry = expiry + timedelta(days=365)
    async with sessions.begin() as s:
        await s.execute(
            update(Subscription)
            .where(Subscription.order_id == sub.order_id)
            .values(expires_at=new_expiry, updated_at=new_expiry)
        )
    change = SubscriptionChanged(order_id=sub.order_id, expires_at=new_expiry, auto_renew=False)
    await ops.retrying(
        f"{h.id}: signal", lambda: h.signal(RenewalWorkflow.subscription_changed, change)
    )
