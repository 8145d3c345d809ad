"""``/api/schedules``: the Temporal Schedules (``partnerflow schedules list``) and running
one now (``partnerflow schedules trigger``), for ops only (404 for anyone else, and for a
schedule id PartnerFlow does not keep), on ``starter.services.schedules``."""

from __future__ import annotations

from fastapi import APIRouter

from infra.i18n import N_
from starter.console.api_base import PROBLEMS, CallerDep, ContextDep, not_found
from starter.services import schedules as sched
from starter.services.schedules import ScheduleRow

router = APIRouter(prefix="/schedules", tags=["schedules"], responses=PROBLEMS)


@router.get("", response_model=list[ScheduleRow], summary=N_("The schedules (ops)"))
async def get_schedules(caller: CallerDep, ctx: ContextDep) -> list[ScheduleRow]:
    """Each schedule's state (active, paused, missing), calendar, time zone, next and
    recent runs."""
    try:
        return await sched.list_schedules(ctx, caller.actor)
    except sched.SchedulesNotInScopeError:
        raise not_found(caller.locale) from None


@router.post(
    "/{schedule_id}/trigger", response_model=ScheduleRow, summary=N_("Run a schedule now (ops)")
)
async def trigger_schedule(schedule_id: str, caller: CallerDep, ctx: ContextDep) -> ScheduleRow:
    """Starts the schedule's workflow now (what it starts is idempotent); the schedule after.
    409 ``schedule_missing`` when it was never applied."""
    try:
        return await sched.trigger(ctx, caller.actor, schedule_id)
    except sched.SchedulesNotInScopeError:
        raise not_found(caller.locale) from None
