"""``/api/partners``: the partners the caller may open, and one partner as ``partnerflow
partner show`` shows it (``partner_report``): the account, its users, applications,
development paths and certifications, and what each path level still needs.

Scope: the console's partner pages' (``starter.services.partners``): vendor staff see every
partner, a partner's users their own; anyone else, and a partner that does not exist, get
404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from infra import i18n
from infra.i18n import N_
from starter.console.api_base import PROBLEMS, CallerDep, ContextDep, not_found
from starter.services.jsonable import to_jsonable
from starter.services.partners import (
    MAX_PARTNERS,
    PartnerNotFoundError,
    PartnerRow,
    list_partners,
    partner_for,
)

router = APIRouter(prefix="/partners", tags=["partners"], responses=PROBLEMS)


@router.get("", response_model=list[PartnerRow], summary=N_("The partners you may open"))
async def get_partners(
    caller: CallerDep,
    ctx: ContextDep,
    q: Annotated[str | None, Query(max_length=200, description="Id or company name.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PARTNERS)] = 100,
) -> list[PartnerRow]:
    """Every partner for vendor staff, your own for a partner's users (by id); empty for
    anyone else."""
    return await list_partners(ctx, caller.actor, q, limit)


@router.get("/{partner_id}", summary=N_("One partner (as `partner show`)"))
async def get_partner(partner_id: str, caller: CallerDep, ctx: ContextDep) -> dict[str, Any]:
    """The partner's account, users, paths and certifications, and what each path level
    still needs; 404 outside your scope."""
    try:
        report = await partner_for(ctx, caller.actor, partner_id)
    except PartnerNotFoundError:
        raise not_found(caller.locale) from None
    # What each level still needs, in the caller's language (the CLI prints the English).
    report["missing_for_certification"] = {
        path: {level: [i18n.term(caller.locale, m) for m in items] for level, items in by.items()}
        for path, by in report["missing_for_certification"].items()
    }
    shown: dict[str, Any] = to_jsonable(report)
    return shown
