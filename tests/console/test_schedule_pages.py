"""The schedules page (``partnerflow schedules list|trigger``, ops only) on the real dev
server (the time-skipping server has no schedules), and the renewals list
(``partnerflow renewals list``: /cases?type=RenewalWorkflow, soonest expiry first)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.parties import Role
from infra.config import Settings
from infra.db import utcnow
from infra.tables import RenewalTask, Subscription
from starter.stack.schedules import SCHEDULES
from tests.console.helpers import Sessions, csrf_in, scheduled_console, session_for
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually

CASE = re.compile(r'data-case="([^"]+)"')


@pytest.fixture
async def dev_web(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: Sessions
) -> AsyncIterator[tuple[httpx.AsyncClient, Client, Settings]]:
    """The console on the dev server, with the schedules applied on a queue nobody polls
    (a triggered run waits there; the schedules are deleted afterwards)."""
    await add_user(sessions, "ops-1", Role.OPS)
    await add_user(sessions, "fin-1", Role.FINANCE)
    async with scheduled_console(settings, dev_env.client) as (web, queued):
        yield web, dev_env.client, queued


async def test_schedules_page_shows_state_calendar_and_next_runs_and_triggers(
    dev_web: tuple[httpx.AsyncClient, Client, Settings],
) -> None:
    web, client, settings = dev_web
    await session_for(web, settings, "ops-1")
    page = await web.get("/schedules")
    assert page.status_code == 200, page.text[:1500]
    for entry in SCHEDULES:
        assert f'data-schedule="{entry.id}" data-state="active"' in page.text
    card = page.text[page.text.index('data-schedule="incentive-monthly"') :]
    assert "monthly on day 3 at 02:00" in card and "Asia/Shanghai" in card
    assert card.index('class="next-runs"') < card.index("Trigger now")
    handle = client.get_schedule_handle("incentive-monthly")
    before = len((await handle.describe()).info.recent_actions)

    # Trigger: a POST with the CSRF token; without it nothing runs.
    bare = await web.post("/schedules/incentive-monthly/trigger", data={})
    assert bare.status_code == 403
    done = await web.post("/schedules/incentive-monthly/trigger", data={"csrf": csrf_in(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/schedules"

    async def ran() -> None:
        assert len((await handle.describe()).info.recent_actions) == before + 1

    await eventually(ran)
    after = await web.get("/schedules")
    assert "Schedule incentive-monthly triggered" in after.text  # the flash
    assert "incentive-monthly-run-" in after.text  # the recent run's workflow id
    unknown = await web.post("/schedules/no-such/trigger", data={"csrf": csrf_in(after.text)})
    assert unknown.status_code == 404


async def test_schedules_are_ops_only(dev_web: tuple[httpx.AsyncClient, Client, Settings]) -> None:
    web, client, settings = dev_web
    await session_for(web, settings, "fin-1")
    page = await web.get("/schedules")
    assert page.status_code == 404 and "incentive-monthly" not in page.text
    token = csrf_in(page.text)
    handle = client.get_schedule_handle("renewal-scan-daily")
    before = len((await handle.describe()).info.recent_actions)
    refused = await web.post("/schedules/renewal-scan-daily/trigger", data={"csrf": token})
    assert refused.status_code == 404
    assert len((await handle.describe()).info.recent_actions) == before


async def test_renewals_list_sorts_by_order_expiry(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-1")
    await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    now = utcnow()
    # Started in one order, expiring in another: the list follows the expiry.
    plan = [("R-late", 40, 3), ("R-soon", 10, 2), ("R-mid", 25, 1)]
    for order, _, _ in plan:
        await add_customer(sessions, f"C-{order}")
    async with sessions.begin() as s:
        for order, days, _ in plan:
            s.add(
                Subscription(
                    order_id=order,
                    customer_id=f"C-{order}",
                    product="ECS",
                    amount=Decimal("90000.00"),
                    billing="yearly",
                    expires_at=now + timedelta(days=days),
                    updated_at=now,
                )
            )
    async with sessions.begin() as s:
        for order, days, started_ago in plan:
            s.add(
                RenewalTask(
                    workflow_id=f"renewal-{order}",
                    order_id=order,
                    expires_at=now + timedelta(days=days),
                    customer_id=f"C-{order}",
                    partner_id="P-1",
                    product="ECS",
                    amount=Decimal("90000.00"),
                    billing="yearly",
                    mode="resale",
                    status="OPEN",
                    workflow_started=True,
                    created_at=now - timedelta(days=started_ago),
                    updated_at=now,
                )
            )
    await session_for(web, settings, "pa-1")
    page = await web.get("/cases?type=RenewalWorkflow&sort=expires")
    assert page.status_code == 200, page.text[:1500]
    assert CASE.findall(page.text) == ["renewal-R-soon", "renewal-R-mid", "renewal-R-late"]
    assert "Order expires" in page.text and 'aria-sort="ascending"' in page.text
    latest_first = await web.get("/cases?type=RenewalWorkflow&sort=-expires")
    assert CASE.findall(latest_first.text)[0] == "renewal-R-late"
    # The other types have no expiry column.
    assert "Order expires" not in (await web.get("/cases")).text
