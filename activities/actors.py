"""Who is acting: the claimed actor of a decision checked against the users and customers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    bindparam,
    literal,
    null,
    select,
    text,
    union_all,
)
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


# The user with this id, and the customer account with this id: one statement, built once.
_ID: BindParameter[str] = bindparam("id")
_WHO: CompoundSelect[Any] = union_all(
    select(
        literal(True).label("is_user"), User.role, User.partner_id, User.customer_id, User.active
    ).where(User.id == _ID),
    select(literal(False), literal(Role.CUSTOMER.value), null(), Customer.id, literal(True)).where(
        Customer.id == _ID
    ),
).order_by(text("is_user DESC"))


class ActorActivities:
    """Looks the acting user up: a payload sent straight to Temporal proves nothing."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    @business_errors
    async def verify_actor(self, actor: Actor) -> ActorCheck:
        """A user row (active, same role and party), or a customer id acting for itself."""
        async with self._sessions() as s:
            rows = (await s.execute(_WHO, {"id": actor.user_id})).all()
        # A user row wins over a customer account of the same id.
        for is_user, role, partner_id, customer_id, active in rows:
            if is_user:
                stored = _describe(role, partner_id, customer_id)
                if not active:
                    return ActorCheck(
                        verified=False,
                        reason=f"user {actor.user_id} is deactivated",
                        stored=f"{stored}, deactivated",
                    )
                return compare(actor, role, partner_id, customer_id, stored)
            stored = _describe(Role.CUSTOMER.value, None, customer_id)
            return compare(actor, Role.CUSTOMER.value, None, customer_id, stored)
        return ActorCheck(
            verified=False,
            reason=f"no user or customer with id {actor.user_id!r}",
            stored="unknown",
        )
