"""``/api/partners/{id}``: what ``partnerflow partner show`` shows (``partner_report``): the
account, its users, applications, development paths and certifications, and what each path
level still needs.

Scope: vendor staff see every partner, a partner's users their own; anyone else, and a
partner that does not exist, get 404 (``commands_base.Parties``, the start forms' rule).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from infra.i18n import N_
from infra.tables import Partner
from starter.console.api_base import PROBLEMS, CallerDep, ContextDep, not_found
from starter.services.commands_base import Parties
from starter.services.jsonable import to_jsonable
from starter.services.onboarding import partner_report

router = APIRouter(prefix="/partners", tags=["partners"], responses=PROBLEMS)


@router.get("/{partner_id}", summary=N_("One partner (as `partner show`)"))
async def get_partner(partner_id: str, caller: CallerDep, ctx: ContextDep) -> dict[str, Any]:
    """The partner's account, users, paths and certifications, and what each path level
    still needs; 404 outside your scope."""
    if not Parties(partner_id=partner_id).visible_to(caller.actor):
        raise not_found(caller.locale)
    async with ctx.sessions() as s:
        exists = await s.get(Partner, partner_id) is not None
    if not exists:
        raise not_found(caller.locale)
    report: dict[str, Any] = to_jsonable(await partner_report(ctx, partner_id))
    return report
