"""Partners as the console and the API show them: ``partnerflow partner show`` within the
reader's scope, and the list of partners a reader may open.

Scope first, the rule the start forms and the API use (``commands_base.Parties``): vendor
staff (ops, ecosystem managers, finance) see every partner; a partner's own users see that
partner only; a customer sees none. A partner outside the scope is "not found", like one
that does not exist.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, or_, select

from domain.parties import PARTNER_ROLES, VENDOR_ROLES, Actor
from infra.tables import Partner, PathMembership
from starter.services.commands_base import Parties
from starter.services.context import AppContext
from starter.services.errors import BadInputError
from starter.services.onboarding import partner_report

# The roles that see every partner.
ALL_PARTNERS = VENDOR_ROLES
MAX_PARTNERS = 500


class PartnerNotFoundError(LookupError):
    """No such partner within the actor's scope (404 either way)."""


class PartnerRow(BaseModel):
    """One line of the partner list."""

    id: str
    company_name: str
    type: str
    status: str
    business_certified: bool
    paths: list[str] = []


def partner_in_scope(actor: Actor, partner_id: str) -> bool:
    """Whether ``actor`` may see partner ``partner_id`` (see the module's docstring)."""
    return Parties(partner_id=partner_id).visible_to(actor)


def may_list_partners(actor: Actor) -> bool:
    """Whether the partner list shows ``actor`` anything (the navigation's link)."""
    return actor.role in ALL_PARTNERS or (actor.role in PARTNER_ROLES and bool(actor.partner_id))


async def partner_for(ctx: AppContext, actor: Actor, partner_id: str) -> dict[str, Any]:
    """``partner_report`` (what ``partnerflow partner show`` prints) of a partner in
    ``actor``'s scope; PartnerNotFoundError when it is outside it or does not exist."""
    if not partner_in_scope(actor, partner_id):
        raise PartnerNotFoundError(partner_id)
    try:
        return await partner_report(ctx, partner_id)
    except BadInputError:  # no such partner
        raise PartnerNotFoundError(partner_id) from None


async def list_partners(
    ctx: AppContext, actor: Actor, search: str | None = None, limit: int = MAX_PARTNERS
) -> list[PartnerRow]:
    """The partners ``actor`` may open, by id; ``search`` matches id or company name."""
    if not may_list_partners(actor):
        return []
    q = select(Partner).order_by(Partner.id).limit(limit)
    if actor.role not in ALL_PARTNERS:
        q = q.where(Partner.id == actor.partner_id)
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        q = q.where(
            or_(
                func.lower(Partner.id).like(pattern), func.lower(Partner.company_name).like(pattern)
            )
        )
    async with ctx.sessions() as s:
        partners = (await s.scalars(q)).all()
        ids = [p.id for p in partners]
        joined = (
            await s.execute(
                select(PathMembership.partner_id, PathMembership.path)
                .where(
                    PathMembership.partner_id.in_(ids),
                    PathMembership.status.in_(("JOINED", "COMPLETED")),
                )
                .order_by(PathMembership.path)
            )
        ).all()
    paths: dict[str, list[str]] = {}
    for partner_id, path in joined:
        paths.setdefault(partner_id, []).append(path)
    return [
        PartnerRow(
            id=p.id,
            company_name=p.company_name,
            type=p.type,
            status=p.status,
            business_certified=p.business_certified,
            paths=paths.get(p.id, []),
        )
        for p in partners
    ]
