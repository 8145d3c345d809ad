"""Who is acting: the claimed actor of a decision checked against the users and customers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from domain.actor_models import ActorCheck
from domain.parties import Actor, Role
from infra.tables import Customer, User


def _describe(role: str, partner_id: str | None, customer_id: str | None) -> str:
    party = ", ".join(
        p
        for p in (
            f"partner {partner_id}" if partner_id else "",
            f"customer {customer_id}" if customer_id else "",
        )
        if p
    )
    return f"{role}{' of ' + party if party else ''}"


def compare(
    actor: Actor, role: str, partner_id: str | None, customer_id: str | None, stored: str
) -> ActorCheck:
    """Verified only when role, partner and customer all equal the stored ones."""
    claimed = _describe(actor.role.value, actor.partner_id, actor.customer_id)
    if (actor.role.value, actor.partner_id, actor.customer_id) != (role, partner_id, customer_id):
        return ActorCheck(
            verified=False,
            reason=f"{actor.user_id} claimed to be {claimed} but is {stored}",
            stored=stored,
        )
    return ActorCheck(verified=True, stored=stored)


class ActorActivities:
    """Looks the acting user up: a payload sent straight to Temporal proves nothing."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    @business_errors
    async def verify_actor(self, actor: Actor) -> ActorCheck:
        """A user row (active, same role and party), or a customer id acting for itself."""
        async with self._sessions() as s:
            user = await s.get(User, actor.user_id)
            if user is not None:
                stored = _describe(user.role, user.partner_id, user.customer_id)
                if not user.active:
                    return ActorCheck(
                        verified=False,
                        reason=f"user {user.id} is deactivated",
                        stored=f"{stored}, deactivated",
                    )
                return compare(actor, user.role, user.partner_id, user.customer_id, stored)
            customer = await s.get(Customer, actor.user_id)
            if customer is not None:
                stored = _describe(Role.CUSTOMER.value, None, customer.id)
                return compare(actor, Role.CUSTOMER.value, None, customer.id, stored)
        return ActorCheck(
            verified=False,
            reason=f"no user or customer with id {actor.user_id!r}",
            stored="unknown",
        )
