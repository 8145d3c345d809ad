"""verify_actor against a real database: a claim is true only when the stored user (or the
customer acting for itself) has the same role, partner and customer, and is active."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.actors import ActorActivities
from domain.parties import Actor, Role
from infra.tables import User
from tests.factories import add_customer, add_partner, add_user, customer_actor
from workflows.common import bounded_key

Sessions = async_sessionmaker[AsyncSession]


async def test_claims_are_checked_against_the_stored_user(db_kind: str, sessions: Sessions) -> None:
    await add_partner(sessions, "P-1")
    await add_partner(sessions, "P-2")
    admin = await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    acts = ActorActivities(sessions)

    assert (await acts.verify_actor(admin)).verified
    assert (await acts.verify_actor(customer_actor("C-1"))).verified
    # name and email are display fields: only role and party are compared
    assert (await acts.verify_actor(admin.model_copy(update={"name": "x", "email": ""}))).verified

    as_admin = await acts.verify_actor(
        Actor(user_id="ps-1", role=Role.PARTNER_ADMIN, partner_id="P-1")
    )
    assert not as_admin.verified and as_admin.stored == "partner_staff of partner P-1"
    assert "ps-1 claimed to be partner_admin of partner P-1" in as_admin.reason
    other_partner = await acts.verify_actor(admin.model_copy(update={"partner_id": "P-2"}))
    assert not other_partner.verified
    other_customer = await acts.verify_actor(
        Actor(user_id="C-1", role=Role.CUSTOMER, customer_id="C-2")
    )
    assert not other_customer.verified and other_customer.stored == "customer of customer C-1"
    unknown = await acts.verify_actor(Actor(user_id="ghost", role=Role.OPS))
    assert not unknown.verified and unknown.stored == "unknown"

    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == "pa-1").values(active=False))
    inactive = await acts.verify_actor(admin)
    assert not inactive.verified and inactive.reason == "user pa-1 is deactivated"


def test_bounded_key_stays_within_the_column_and_unique() -> None:
    short = "wf-1/run:invite:0:bounced"
    assert bounded_key(short) == short
    a, b = bounded_key("k" * 300 + "a"), bounded_key("k" * 300 + "b")
    assert len(a) <= 200 and len(b) <= 200 and a != b
