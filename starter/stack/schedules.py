"""Temporal Schedules PartnerFlow keeps, and ``partnerflow schedules apply|list|trigger``.

Each schedule is one ``ScheduleEntry`` in ``SCHEDULES``: what it starts, when, and with what
input (built from settings when the entry is applied). ``apply`` creates the missing ones and
updates the others to the current settings, so running it again changes nothing and a changed
setting is picked up by running it once more. To add a schedule, append one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from infra.config import Settings
from infra.i18n import N_
from starter.cli.output import console, emit
from starter.cli.runner import JSON_HELP, run_async
from starter.services.context import AppContext, temporal_errors
from starter.services.errors import BadInputError, CliError, RefusedError


def monthly(settings: Settings, day: int, hour: int, minute: int = 0) -> ScheduleSpec:
    """Every month on ``day`` at ``hour:minute`` in the schedules' time zone."""
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                day_of_month=[ScheduleRange(day)],
                hour=[ScheduleRange(hour)],
                minute=[ScheduleRange(minute)],
                comment=f"monthly on day {day} at {hour:02d}:{minute:02d}",
            )
        ],
        time_zone_name=settings.schedules_time_zone,
    )


def daily(settings: Settings, hour: int, minute: int = 0) -> ScheduleSpec:
    """Every day at ``hour:minute`` in the schedules' time zone."""
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                hour=[ScheduleRange(hour)],
                minute=[ScheduleRange(minute)],
                comment=f"daily at {hour:02d}:{minute:02d}",
            )
        ],
        time_zone_name=settings.schedules_time_zone,
    )


@dataclass(frozen=True, kw_only=True)
class ScheduleEntry:
    """One schedule: its id, the workflow type it starts, when, and the input it passes."""

    id: str
    description: str
    workflow: str  # the workflow type name
    spec: Callable[[Settings], ScheduleSpec]
    arg: Callable[[Settings], BaseModel]
    # Missed fires (server down) are caught up within this window; starts must be idempotent.
    catchup_window: timedelta = timedelta(days=1)

    def schedule(
        self, settings: Settings, *, paused: bool = False, note: str | None = None
    ) -> Schedule:
        """The Temporal schedule for these settings."""
        return Schedule(
            action=ScheduleActionStartWorkflow(
                self.workflow,
                self.arg(settings),
                # The server appends the fire time, so every run has its own id.
                id=f"{self.id}-run",
                task_queue=settings.task_queue,
            ),
            spec=self.spec(settings),
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP, catchup_window=self.catchup_window
            ),
            state=ScheduleState(note=note or self.description, paused=paused),
        )


def _incentive_run(settings: Settings) -> BaseModel:
    from domain.incentives import MonthlyRunRequest
    from starter.services.incentives import payout_defaults

    return MonthlyRunRequest(defaults=payout_defaults(settings))


def _renewal_scan(settings: Settings) -> BaseModel:
    from starter.services.renewals import scan_request

    # No as_of: each run scans as of its own start time.
    return scan_request(settings, None)


SCHEDULES: list[ScheduleEntry] = [
    ScheduleEntry(
        id="incentive-monthly",
        description=N_("Starts last month's incentive payout for every ACTIVE partner."),
        workflow="IncentiveMonthlyRunWorkflow",
        spec=lambda s: monthly(s, s.incentive_schedule_day_of_month, s.incentive_schedule_hour),
        arg=_incentive_run,
        catchup_window=timedelta(days=7),
    ),
    ScheduleEntry(
        id="renewal-scan-daily",
        description=N_("Finds big orders near expiry and starts their renewal tasks."),
        workflow="RenewalScanWorkflow",
        spec=lambda s: daily(s, s.renewal_scan_hour, s.renewal_scan_minute),
        arg=_renewal_scan,
    ),
]


class ScheduleOutcome(BaseModel):
    """What ``apply`` did with one schedule."""

    id: str
    action: str  # created | updated
    description: str


async def apply_schedules(
    client: Client, settings: Settings, entries: list[ScheduleEntry] | None = None
) -> list[ScheduleOutcome]:
    """Creates or updates every schedule (idempotent); a paused schedule stays paused."""
    out: list[ScheduleOutcome] = []
    for entry in entries if entries is not None else SCHEDULES:
        action = "updated"
        try:
            await client.create_schedule(entry.id, entry.schedule(settings))
            action = "created"
        except ScheduleAlreadyRunningError:

            def updater(current: ScheduleUpdateInput, e: ScheduleEntry = entry) -> ScheduleUpdate:
                state = current.description.schedule.state
                return ScheduleUpdate(
                    schedule=e.schedule(settings, paused=state.paused, note=state.note)
                )

            await client.get_schedule_handle(entry.id).update(updater)
        out.append(ScheduleOutcome(id=entry.id, action=action, description=entry.description))
    return out


async def describe_schedules(client: Client) -> list[dict[str, Any]]:
    """Each registered schedule as the server has it (or ``missing``)."""
    rows: list[dict[str, Any]] = []
    for entry in SCHEDULES:
        try:
            desc = await client.get_schedule_handle(entry.id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            rows.append({"id": entry.id, "state": "missing", "description": entry.description})
            continue
        sched = desc.schedule
        rows.append(
            {
                "id": entry.id,
                "state": "paused" if sched.state.paused else "active",
                "workflow": entry.workflow,
                "when": [c.comment for c in sched.spec.calendars],
                "time_zone": sched.spec.time_zone_name,
                "next_runs": list(desc.info.next_action_times[:3]),
                "recent_runs": [
                    getattr(a.action, "workflow_id", "") for a in desc.info.recent_actions[-3:]
                ],
                "description": entry.description,
            }
        )
    return rows


def _entry(schedule_id: str) -> ScheduleEntry:
    for entry in SCHEDULES:
        if entry.id == schedule_id:
            return entry
    known = ", ".join(e.id for e in SCHEDULES)
    raise BadInputError(f"SCHEDULE: no schedule {schedule_id!r}; the schedules are {known}")


async def trigger_schedule(client: Client, schedule_id: str) -> None:
    """Runs the schedule's workflow now; RefusedError when it was never applied."""
    entry = _entry(schedule_id)
    try:
        await client.get_schedule_handle(entry.id).trigger()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise RefusedError(
                f"schedule {entry.id} does not exist yet; run `partnerflow schedules apply` first",
                rule="schedule_missing",
            ) from None
        raise CliError(f"schedules trigger: Temporal refused: {exc.message}") from None


schedules_app = typer.Typer(
    help="Temporal Schedules that start PartnerFlow's periodic workflows.", no_args_is_help=True
)
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def register(app: typer.Typer) -> None:
    """Adds ``partnerflow schedules ...`` to the CLI."""

    @schedules_app.command("apply")
    def apply_(as_json: Json = False) -> None:
        """Create or update every schedule from the current settings (safe to re-run).

        The monthly incentive run fires on PARTNERFLOW_INCENTIVE_SCHEDULE_DAY_OF_MONTH at
        PARTNERFLOW_INCENTIVE_SCHEDULE_HOUR in PARTNERFLOW_SCHEDULES_TIME_ZONE; run this again
        after changing a setting. A paused schedule stays paused.
        """

        async def body(ctx: AppContext) -> None:
            client = await ctx.client()
            async with temporal_errors("schedules apply"):
                outcomes = await apply_schedules(client, ctx.settings)

            def human() -> None:
                for o in outcomes:
                    console.print(f"{o.id}: {o.action}  ({o.description})", markup=False)

            emit(outcomes, as_json, human)

        run_async(as_json, body)

    @schedules_app.command("list")
    def list_(as_json: Json = False) -> None:
        """The registered schedules: state, calendar and next runs on the server."""

        async def body(ctx: AppContext) -> None:
            client = await ctx.client()
            async with temporal_errors("schedules list"):
                rows = await describe_schedules(client)
            emit(rows, as_json, lambda: _print_rows(rows))

        run_async(as_json, body)

    @schedules_app.command("trigger")
    def trigger(
        schedule_id: Annotated[str, typer.Argument(help="A schedule id, e.g. incentive-monthly.")],
        as_json: Json = False,
    ) -> None:
        """Run a schedule's workflow now (what it starts must be, and is, idempotent)."""

        async def body(ctx: AppContext) -> None:
            entry = _entry(schedule_id)
            await trigger_schedule(await ctx.client(), entry.id)
            emit({"id": entry.id, "triggered": True}, as_json, f"{entry.id}: triggered")

        run_async(as_json, body)

    app.add_typer(schedules_app, name="schedules")


def _print_rows(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        console.print(f"{r['id']}: {r['state']}  {r['description']}", markup=False)
        for k in ("when", "time_zone", "next_runs", "recent_runs"):
            if r.get(k):
                console.print(f"  {k}: {r[k]}", markup=False)
