"""Who is acting: the one actor resolution every front door (CLI ``--as``, web) goes through.

A user row must exist and be active; a customer id acts for itself (customers have no user
row). Callers that need a role or a partner say so here instead of checking on their own, so
the rule cannot drift between the CLI, the link pages and the console.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.parties import Actor, Role
from infra.tables import Customer, User
from starter.services.errors import BadInputError, RefusedError


async def find_actor(s: AsyncSession, user_id: str) -> Actor:
    """The active user, or the customer acting for itself, with this id.

    Raises ``BadInputError`` (``unknown_user``) for an unknown id and ``RefusedError``
    (``user_inactive``) for a deactivated user.
    """
    user = await s.get(User, user_id)
    if user is not None:
        if not user.active:
            raise RefusedError(f"user {user_id} is deactivated", rule="user_inactive")
        return Actor(
            user_id=user.id,
            role=Role(user.role),
            name=user.name,
            email=user.email,
            partner_id=user.partner_id,
            customer_id=user.customer_id,
        )
    customer = await s.get(Customer, user_id)
    if customer is not None:
        return Actor(
            user_id=customer.id,
            role=Role.CUSTOMER,
            name=customer.name,
            email=customer.email,
            customer_id=customer.id,
        )
    raise BadInputError(f"no user or customer with id {user_id!r}", rule="unknown_user")


async def resolve_actor(
    sessions: async_sessionmaker[AsyncSession],
    user_id: str,
    *,
    roles: Collection[Role] | None = None,
    partner_id: str | None = None,
    refusal: str | None = None,
    rule: str = "role_not_allowed",
    option: str = "--as",
) -> Actor:
    """Resolves the acting user and checks it may act: active, one of ``roles``, and a user
    of ``partner_id`` when given (ops act for every partner).

    ``refusal`` words the refusal of a wrong role or partner ("only ops record partner facts");
    ``option`` names where the id came from in the message about an unknown one.
    """
    async with sessions() as s:
        try:
            actor = await find_actor(s, user_id)
        except BadInputError:
            users = (await s.scalars(select(User.id).limit(5))).all()
            hint = (
                f" (known users include: {', '.join(users)})" if users else " (import users first)"
            )
            raise BadInputError(
                f"{option}: no user or customer with id {user_id!r}{hint}", rule="unknown_user"
            ) from None
    allowed_role = roles is None or actor.role in roles
    allowed_party = (
        partner_id is None or actor.role == Role.OPS or actor.is_partner_user_of(partner_id)
    )
    if not (allowed_role and allowed_party):
        what = refusal or _default_refusal(roles, partner_id)
        raise RefusedError(f"{what}, not {actor.describe()}", rule=rule)
    return actor


def _default_refusal(roles: Collection[Role] | None, partner_id: str | None) -> str:
    who = " or ".join(r.value for r in roles) if roles else "a user"
    return f"only {who}{f' of partner {partner_id}' if partner_id else ''} may do this"
