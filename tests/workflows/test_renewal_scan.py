"""The daily scan on the real dev server: selection rule, idempotence, thousands of orders.

The renewal workflows it starts go to a queue without a worker: here only the starting is
under test (the renewal itself is tested in test_renewal_workflow.py). That is why these
tests use the dev server: on the time-skipping server a workflow waiting on a queue without
a worker stops the clock for every later test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.parties import AssociationMode
from domain.renewals import (
    Billing,
    RenewalScanRequest,
    RenewalStatus,
    renewal_workflow_id,
    scan_workflow_id,
)
from infra.config import Settings
from infra.tables import Binding, Customer, RenewalTask, Subscription
from tests.factories import add_customer
from tests.harness import eventually, new_task_queue, save_history
from tests.workflows.test_renewal_fixtures import (
    Sessions,
    add_subscription,
    days,
    setup_party,
)
from worker import build_worker
from workflows.renewal_scan import RenewalScanWorkflow

pytestmark = pytest.mark.devserver

AS_OF = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)


async def _scan(dev_env: WorkflowEnvironment, task_queue: str, req: RenewalScanRequest, wf_id: str):  # type: ignore[no-untyped-def]
    return await dev_env.client.execute_workflow(
        RenewalScanWorkflow.run, req, id=wf_id, task_queue=task_queue
    )


async def test_scan_selects_by_rule_and_starts_each_task_once(
    dev_env: WorkflowEnvironment, deps: Deps, sessions: Sessions
) -> None:
    run = uuid.uuid4().hex[:6]  # the dev server lives for the session: fresh order ids
    await setup_party(sessions, AS_OF)
    await add_customer(sessions, "C-2")  # not bound to any partner
    rows = [
        ("y-in", Decimal("60000.00"), Billing.YEARLY, days(29), False, "C-1"),
        ("y-edge", Decimal("50000.00"), Billing.YEARLY, days(30), False, "C-1"),
        ("y-far", Decimal("60000.00"), Billing.YEARLY, days(31), False, "C-1"),
        ("y-small", Decimal("49999.99"), Billing.YEARLY, days(10), False, "C-1"),
        ("m-in", Decimal("80000.00"), Billing.MONTHLY, days(6), False, "C-1"),
        ("m-far", Decimal("80000.00"), Billing.MONTHLY, days(8), False, "C-1"),
        ("auto", Decimal("90000.00"), Billing.YEARLY, days(5), True, "C-1"),
        ("unbound", Decimal("90000.00"), Billing.YEARLY, days(5), False, "C-2"),
        ("expired", Decimal("90000.00"), Billing.YEARLY, days(-1), False, "C-1"),
    ]
    for name, amount, billing, ahead, auto, customer in rows:
        await add_subscription(
            sessions,
            f"{name}-{run}",
            customer,
            AS_OF + ahead,
            amount=amount,
            billing=billing,
            auto_renew=auto,
        )
    queue, renewal_queue = new_task_queue(), new_task_queue()
    req = RenewalScanRequest(as_of=AS_OF, renewal_task_queue=renewal_queue)
    async with build_worker(dev_env.client, deps, task_queue=queue):
        first = await _scan(dev_env, queue, req, scan_workflow_id(AS_OF) + f"-{run}")
        # the same day again, also under the same scan id
        handle = dev_env.client.get_workflow_handle(scan_workflow_id(AS_OF) + f"-{run}")
        second = await _scan(dev_env, queue, req, handle.id)
        await save_history(handle, "renewal_scan_workflow-second-run-starts-nothing")

    assert (first.candidates, first.started, first.already_existing) == (3, 3, 0)
    assert (second.candidates, second.started, second.already_existing) == (3, 0, 3)
    expected = {
        renewal_workflow_id(f"{n}-{run}", AS_OF + ahead)
        for n, ahead in (("y-in", days(29)), ("y-edge", days(30)), ("m-in", days(6)))
    }
    async with sessions() as s:
        tasks = (await s.scalars(select(RenewalTask))).all()
    assert {t.workflow_id for t in tasks} == expected
    assert all(t.workflow_started and t.status == RenewalStatus.STARTING for t in tasks)
    for wf_id in expected:
        desc = await dev_env.client.get_workflow_handle(wf_id).describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING
        assert desc.task_queue == renewal_queue
        # the dev server knows the search attributes, so the tasks are indexed by party
        assert (
            desc.typed_search_attributes.get(SearchAttributeKey.for_keyword("PartnerId")) == "P-1"
        )
        await dev_env.client.get_workflow_handle(wf_id).terminate("scan test done")


async def test_scan_of_two_thousand_orders_starts_in_batches(
    dev_env: WorkflowEnvironment, deps: Deps, sessions: Sessions
) -> None:
    run = uuid.uuid4().hex[:6]
    partner = f"P-{run}"  # not P-1: these tasks stay running on the session's server
    await setup_party(sessions, AS_OF, partner_id=partner, with_manager=False)
    customers = [f"C-{run}-{i:03d}" for i in range(50)]
    async with sessions.begin() as s:
        await s.execute(
            insert(Customer),
            [{"id": c, "name": c, "email": f"{c.lower()}@customer.test"} for c in customers],
        )
        await s.execute(
            insert(Binding),
            [
                {
                    "idempotency_key": f"b-{c}",
                    "partner_id": partner,
                    "customer_id": c,
                    "mode": AssociationMode.RESALE.value,
                    "status": "active",
                    "created_by": "test",
                    "started_at": AS_OF,
                }
                for c in customers
            ],
        )
    # One order in twenty is big: 2,000 orders scanned, 100 tasks started (starting workflows
    # is what takes the time on the dev server, 40-100 a second here).
    subs = [
        {
            "order_id": f"O-{run}-{i:04d}",
            "customer_id": customers[i % len(customers)],
            "product": "OBS storage package",
            "amount": Decimal("55000.00") if i % 20 == 0 else Decimal("20000.00"),
            "billing": "yearly",
            "expires_at": AS_OF + timedelta(days=1 + i % 29),
            "auto_renew": False,
            "updated_at": AS_OF,
        }
        for i in range(2000)
    ]
    async with sessions.begin() as s:
        await s.execute(insert(Subscription), subs)
    queue, renewal_queue = new_task_queue(), new_task_queue()
    # 500 per page and 2 pages per run: the scan continues as new twice on the way.
    req = RenewalScanRequest(
        as_of=AS_OF, renewal_task_queue=renewal_queue, page_size=500, pages_per_run=2
    )
    async with build_worker(dev_env.client, deps, task_queue=queue):
        result = await _scan(dev_env, queue, req, f"renewal-scan-big-{run}")

    assert (result.scanned, result.candidates, result.started) == (2000, 100, 100)
    assert result.already_existing == 0
    async with sessions() as s:
        started = await s.scalar(
            select(func.count()).select_from(RenewalTask).where(RenewalTask.workflow_started)
        )
    assert started == 100
    running = [
        wf.id
        async for wf in dev_env.client.list_workflows(
            f"TaskQueue = '{renewal_queue}' AND ExecutionStatus = 'Running'"
        )
    ]
    assert len(running) == 100


async def test_daily_schedule_starts_the_scan(
    dev_env: WorkflowEnvironment, deps: Deps, sessions: Sessions, settings: Settings
) -> None:
    from starter.stack.schedules import SCHEDULES, apply_schedules

    entry = next(e for e in SCHEDULES if e.workflow == "RenewalScanWorkflow")
    own = settings.model_copy(update={"task_queue": new_task_queue()})
    client = dev_env.client
    first = await apply_schedules(client, own, [entry])
    again = await apply_schedules(client, own, [entry])
    assert [o.action for o in first + again] == ["created", "updated"]
    handle = client.get_schedule_handle(entry.id)
    try:
        desc = await handle.describe()
        calendar = desc.schedule.spec.calendars[0]
        assert (calendar.hour[0].start, calendar.minute[0].start) == (
            own.renewal_scan_hour,
            own.renewal_scan_minute,
        )
        async with build_worker(client, deps, task_queue=own.task_queue):
            await handle.trigger()

            async def ran() -> str:
                found = [
                    wf.id
                    async for wf in client.list_workflows(
                        f"WorkflowType = 'RenewalScanWorkflow' AND TaskQueue = '{own.task_queue}'"
                    )
                ]
                assert found
                return found[0]

            scan_id = await eventually(ran)
            result = await client.get_workflow_handle(scan_id).result()
        assert result["scanned"] == 0  # nothing to scan in this database; it ran as of now
    finally:
        await handle.delete()
