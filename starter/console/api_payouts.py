"""``/api/payouts/{id}``: one payout as ``partnerflow payout show`` shows it (statement,
status, invoice list, invoices, decision, payment), within the cases' scope (the partner's
users, finance, ops; 404 otherwise), on ``starter.services.incentives``."""

from __future__ import annotations

from fastapi import APIRouter

from domain.incentives import PayoutView
from infra.i18n import N_
from starter.console.api_base import PROBLEMS, CallerDep, ContextDep, not_found
from starter.services.cases import CaseNotFoundError
from starter.services.incentives import payout_for

router = APIRouter(prefix="/payouts", tags=["payouts"], responses=PROBLEMS)


@router.get("/{payout_id}", response_model=PayoutView, summary=N_("One payout (as `payout show`)"))
async def get_payout(payout_id: str, caller: CallerDep, ctx: ContextDep) -> PayoutView:
    """The payout's statement, status, invoice list, invoices, decision and payment; the
    running workflow's answer, else what the database recorded."""
    try:
        return await payout_for(ctx, caller.actor, payout_id)
    except CaseNotFoundError:
        raise not_found(caller.locale) from None
