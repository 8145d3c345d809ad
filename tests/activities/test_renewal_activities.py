"""Renewal and authorization activities on SQLite and PostgreSQL: idempotent, exact queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.renewals import AuthorizationActivities, RenewalActivities
from domain.authorizations import AuthorizationStatus, AuthorizationView
from domain.parties import AssociationMode
from domain.renewal_models import (
    AuthorizationLookup,
    AuthorizationRecord,
    CandidateQuery,
    LetterAcceptance,
    RenewalRecord,
    SubscriptionQuery,
)
from domain.renewals import Billing, RenewalPolicy, RenewalStatus, RenewalView
from infra.tables import CommitmentLetter, CustomerAuthorization, RenewalTask
from tests.factories import add_customer, add_partner
from tests.workflows.test_renewal_fixtures import add_binding, add_subscription

NOW = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
D = timedelta(days=1)
Sessions = async_sessionmaker[AsyncSession]


async def _count(sessions: Sessions, table: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def _world(sessions: Sessions) -> None:
    await add_partner(sessions, "P-1")
    await add_customer(sessions, "C-1")
    await add_customer(sessions, "C-2")
    await add_binding(sessions, "P-1", "C-1", AssociationMode.RESALE, NOW)


async def test_candidates_pages_compare_money_and_time_exactly(
    db_kind: str, sessions: Sessions
) -> None:
    await _world(sessions)
    # Text-sorted "9000.00" > "50000.00": the threshold must be compared as a number.
    for order, amount, ahead in [
        ("A-1", "9000.00", 5 * D),
        ("A-2", "50000.00", 30 * D),
        ("A-3", "123456.78", 2 * D),
        ("A-4", "60000.00", 31 * D),
        ("A-5", "70000.00", 3 * D),
    ]:
        await add_subscription(sessions, order, "C-1", NOW + ahead, amount=Decimal(amount))
    await add_subscription(sessions, "A-6", "C-2", NOW + D)  # C-2 is not bound
    acts = RenewalActivities(sessions)
    q = CandidateQuery(as_of=NOW, policy=RenewalPolicy(), limit=2)
    first = await acts.find_renewal_candidates(q)
    assert [c.subscription.order_id for c in first.candidates] == ["A-2"]
    assert first.scanned == 2 and first.next_after == "A-2"
    second = await acts.find_renewal_candidates(q.model_copy(update={"after_order_id": "A-2"}))
    assert [c.subscription.order_id for c in second.candidates] == ["A-3", "A-5"]
    assert second.next_after == "A-5"
    last = await acts.find_renewal_candidates(q.model_copy(update={"after_order_id": "A-5"}))
    assert last.candidates == [] and last.next_after is None
    c = second.candidates[0]
    assert c.partner_id == "P-1" and c.mode == AssociationMode.RESALE
    assert c.subscription.amount == Decimal("123456.78")
    assert c.subscription.expires_at == NOW + 2 * D


def _view(status: RenewalStatus, **kw: object) -> RenewalView:
    values: dict[str, object] = dict(
        workflow_id="renewal-A-1-20270311",
        order_id="A-1",
        customer_id="C-1",
        partner_id="P-1",
        product="ECS",
        amount=Decimal("60000.00"),
        billing=Billing.YEARLY,
        mode=AssociationMode.RESALE,
        expires_at=NOW + 10 * D,
        status=status,
    )
    values.update(kw)
    return RenewalView.model_validate(values)


async def test_record_renewal_writes_one_row_and_keeps_it_current(
    db_kind: str, sessions: Sessions
) -> None:
    await _world(sessions)
    await add_subscription(sessions, "A-1", "C-1", NOW + 10 * D)
    acts = RenewalActivities(sessions)
    opened = RenewalRecord(view=_view(RenewalStatus.OPEN), at=NOW)
    await acts.record_renewal(opened)
    await acts.record_renewal(opened)  # a retry
    claimed = RenewalRecord(
        view=_view(RenewalStatus.CLAIMED, claimed_by="u-1", claimed_at=NOW + D), at=NOW + D
    )
    await acts.record_renewal(claimed)
    await acts.record_renewal(claimed)
    assert await _count(sessions, RenewalTask) == 1
    async with sessions() as s:
        row = await s.scalar(select(RenewalTask))
    assert row is not None
    assert (row.status, row.claimed_by, row.workflow_started) == ("CLAIMED", "u-1", True)
    assert row.created_at == NOW and row.updated_at == NOW + D
    assert row.amount == Decimal("60000.00")
    state = await acts.check_renewal_subscription(SubscriptionQuery(order_id="A-1"))
    assert state.current is not None and state.current.expires_at == NOW + 10 * D
    gone = await acts.check_renewal_subscription(SubscriptionQuery(order_id="nope"))
    assert gone.current is None


async def test_commitment_letter_is_accepted_once_per_version(
    db_kind: str, sessions: Sessions
) -> None:
    await _world(sessions)
    acts = AuthorizationActivities(sessions)
    first = LetterAcceptance(
        partner_id="P-1",
        version="2026-1",
        text="...",
        accepted_by="u-1",
        accepted_at=NOW,
        workflow_id="authorization-P-1-C-1",
    )
    a = await acts.accept_commitment_letter(first)
    b = await acts.accept_commitment_letter(
        first.model_copy(update={"accepted_by": "u-2", "accepted_at": NOW + D})
    )
    assert a == b and b.accepted_by == "u-1"
    assert await _count(sessions, CommitmentLetter) == 1


async def test_authorization_rows_and_what_can_be_reused(db_kind: str, sessions: Sessions) -> None:
    await _world(sessions)
    acts = AuthorizationActivities(sessions)
    lookup = AuthorizationLookup(partner_id="P-1", customer_id="C-1", at=NOW)
    assert await acts.find_authorization(lookup) == (await acts.find_authorization(lookup))
    assert (await acts.find_authorization(lookup)).reusable is None

    view = AuthorizationView(
        workflow_id="authorization-P-1-C-1",
        partner_id="P-1",
        customer_id="C-1",
        status=AuthorizationStatus.AWAITING_CUSTOMER,
        requested_by="u-1",
        deadline_at=NOW + 7 * D,
    )
    pending = AuthorizationRecord(
        run_key="authorization-P-1-C-1/r1", view=view, requested_at=NOW, at=NOW
    )
    await acts.record_authorization(pending)
    await acts.record_authorization(pending)
    found = await acts.find_authorization(lookup)
    assert found.pending is not None and found.reusable is None

    approved = pending.model_copy(
        update={
            "view": view.model_copy(
                update={"status": AuthorizationStatus.APPROVED, "valid_until": NOW + 30 * D}
            ),
            "at": NOW + D,
        }
    )
    await acts.record_authorization(approved)
    assert await _count(sessions, CustomerAuthorization) == 1
    found = await acts.find_authorization(lookup.model_copy(update={"at": NOW + 29 * D}))
    assert found.reusable is not None and found.reusable.valid_until == NOW + 30 * D
    expired = await acts.find_authorization(lookup.model_copy(update={"at": NOW + 31 * D}))
    assert expired.reusable is None and expired.pending is None
