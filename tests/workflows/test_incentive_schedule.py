"""The monthly run that starts every ACTIVE partner's payout, and its Temporal Schedule."""

from __future__ import annotations

from sqlalchemy import select
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import Deps, build_deps
from domain.incentives import (
    MonthlyRunRequest,
    MonthlyRunResult,
    PayoutStatus,
    payout_workflow_id,
    previous_period,
)
from infra.config import Settings
from infra.db import utcnow
from infra.smtp_sink import MailSink
from infra.tables import IncentivePayout
from starter.services.incentives import payout_defaults
from starter.stack.schedules import SCHEDULES, apply_schedules
from tests.factories import add_partner
from tests.harness import eventually, new_task_queue, save_history
from tests.workflows.test_incentive import PERIOD, Sessions, reach, seed, stop
from worker import build_worker
from workflows.incentive import IncentivePayoutWorkflow
from workflows.incentive_monthly import IncentiveMonthlyRunWorkflow


async def test_monthly_run_starts_each_active_partner_once(
    client: Client, worker: Worker, sessions: Sessions, settings: Settings, mailbox: MailSink
) -> None:
    await seed(sessions, "P-1")
    await seed(sessions, "P-2", vendor_staff=False)
    await add_partner(sessions, "P-3", uscc="91510100MA6CGUL45R", status="SUSPENDED")
    req = MonthlyRunRequest(
        defaults=payout_defaults(settings), period=PERIOD, index_partners=False, page_size=1
    )
    run_id = f"incentive-monthly-test-{new_task_queue()}"
    h = await client.start_workflow(
        IncentiveMonthlyRunWorkflow.run, req, id=run_id, task_queue=worker.task_queue
    )
    result = await h.result()  # two pages: continued as new once
    assert (result.period, result.started, result.already_running) == (PERIOD, 2, 0)
    payouts = [
        client.get_workflow_handle_for(IncentivePayoutWorkflow.run, payout_workflow_id(p, PERIOD))
        for p in ("P-1", "P-2")
    ]
    for p in payouts:
        await reach(p, PayoutStatus.AWAITING_APPLICATION)

    again = await client.execute_workflow(
        IncentiveMonthlyRunWorkflow.run,
        req,
        id=f"{run_id}-again",
        task_queue=worker.task_queue,
    )
    assert (again.started, again.already_running) == (0, 2)
    async with sessions() as s:
        rows = (await s.scalars(select(IncentivePayout.payout_id))).all()
    assert sorted(rows) == [payout_workflow_id("P-1", PERIOD), payout_workflow_id("P-2", PERIOD)]
    await save_history(client.get_workflow_handle(run_id), "incentive_monthly_run-two_pages")
    for p in payouts:
        await stop(p, sessions, "statement_sent")


async def test_schedule_apply_is_idempotent_and_its_run_starts_payouts(
    dev_env: WorkflowEnvironment, sessions: Sessions, settings: Settings, mailbox: MailSink
) -> None:
    client = dev_env.client
    settings = settings.model_copy(update={"task_queue": new_task_queue()})
    deps: Deps = build_deps(settings, sessions)
    await seed(sessions, "P-1")
    await add_partner(sessions, "P-3", uscc="91510100MA6CGUL45R", status="SUSPENDED")
    entry = next(e for e in SCHEDULES if e.id == "incentive-monthly")
    handle = client.get_schedule_handle(entry.id)
    try:
        first = await apply_schedules(client, settings, [entry])
        second = await apply_schedules(client, settings, [entry])
        assert [o.action for o in first] == ["created"] and [o.action for o in second] == [
            "updated"
        ]
        desc = await handle.describe()
        (cal,) = desc.schedule.spec.calendars
        assert [r.start for r in cal.day_of_month] == [3] and [r.start for r in cal.hour] == [2]
        assert desc.schedule.spec.time_zone_name == "Asia/Shanghai"
        assert desc.info.next_action_times and desc.info.next_action_times[0].day in (2, 3)

        async with build_worker(client, deps, task_queue=settings.task_queue):
            for n in (1, 2):
                await handle.trigger()

                async def ran(n: int = n) -> ScheduleActionExecutionStartWorkflow:
                    d = await handle.describe()
                    assert len(d.info.recent_actions) >= n
                    action = d.info.recent_actions[n - 1].action
                    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
                    return action

                action = await eventually(ran)
                result = await client.get_workflow_handle(
                    action.workflow_id, result_type=MonthlyRunResult
                ).result()
                assert result.period == previous_period(utcnow().date())
                assert (result.started, result.already_running) == ((1, 0) if n == 1 else (0, 1))
            payout = client.get_workflow_handle(payout_workflow_id("P-1", result.period))
            desc_payout = await payout.describe()
            assert desc_payout.typed_search_attributes  # indexed by PartnerId
            await eventually(lambda: _payout_row(sessions), timeout=15)
            # On a fast run the payout may already have ended; anything else is a failure.
            try:
                await payout.terminate("test done")
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
    finally:
        await handle.delete()


async def _payout_row(sessions: Sessions) -> None:
    async with sessions() as s:
        rows = (await s.scalars(select(IncentivePayout.partner_id))).all()
    assert rows == ["P-1"]
