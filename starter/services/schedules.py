"""Schedules as the console and the API show them: ``partnerflow schedules list`` and
``trigger``, for ops only (anyone else is told there is nothing here: 404, scope first)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.parties import Actor, Role
from starter.services.context import AppContext, temporal_errors
from starter.stack.schedules import SCHEDULES, describe_schedules, trigger_schedule


class SchedulesNotInScopeError(LookupError):
    """The schedules are ops' business; for anyone else they are not found."""


class ScheduleRow(BaseModel):
    """One schedule as the server has it: ``state`` is active, paused or missing (never
    applied: ``partnerflow schedules apply`` creates it)."""

    id: str
    state: str
    description: str
    workflow: str | None = None
    when: list[str] = []
    time_zone: str | None = None
    next_runs: list[datetime] = []
    recent_runs: list[str] = []


def may_see_schedules(actor: Actor) -> bool:
    """Ops only."""
    return actor.role == Role.OPS


def _require_ops(actor: Actor) -> None:
    if not may_see_schedules(actor):
        raise SchedulesNotInScopeError(actor.user_id)


async def list_schedules(ctx: AppContext, actor: Actor) -> list[ScheduleRow]:
    """Every registered schedule: state, calendar, time zone, next and recent runs."""
    _require_ops(actor)
    client = await ctx.client()
    async with temporal_errors("schedules list"):
        rows = await describe_schedules(client)
    return [ScheduleRow.model_validate(r) for r in rows]


async def trigger(ctx: AppContext, actor: Actor, schedule_id: str) -> ScheduleRow:
    """Runs the schedule's workflow now (what it starts is idempotent); the schedule after.
    An unknown id is SchedulesNotInScopeError too; one never applied is RefusedError."""
    _require_ops(actor)
    if schedule_id not in {e.id for e in SCHEDULES}:
        raise SchedulesNotInScopeError(schedule_id)
    client = await ctx.client()
    async with temporal_errors("schedules trigger"):
        await trigger_schedule(client, schedule_id)
    return next(r for r in await list_schedules(ctx, actor) if r.id == schedule_id)
