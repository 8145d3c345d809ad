"""The API's remaining "show" routes: ``/api/partners`` (list), ``/api/payouts/{id}``
(``payout show``) and ``/api/schedules`` (+ trigger, ops only, on the dev server): with a
token, without one (401), and outside the token user's scope (404, like a missing object)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.parties import Actor
from infra.config import Settings
from starter.stack.schedules import SCHEDULES
from tests.console.helpers import Sessions, scheduled_console
from tests.console.test_api import bearer, problem, token_for
from tests.console.test_partner_pages import PAYOUT, ops, paid_payout
from tests.harness import eventually

__all__ = ["ops", "paid_payout"]  # the fixtures, used here too


async def test_partner_list_and_one_partner_in_scope_only(
    web: httpx.AsyncClient, sessions: Sessions, ops: Actor
) -> None:
    listed = await web.get("/api/partners", headers=bearer(await token_for(sessions, "eco-1")))
    assert listed.status_code == 200 and [p["id"] for p in listed.json()] == ["P-1", "P-2"]
    one = listed.json()[0]
    assert (one["company_name"], one["status"], one["business_certified"]) == (
        "Alpha Cloud Co., Ltd.",
        "ACTIVE",
        True,
    )
    staff = bearer(await token_for(sessions, "ps-2"))
    own = await web.get("/api/partners", headers=staff, params={"q": "alpha"})
    assert own.status_code == 200 and own.json() == []  # P-1 is not theirs
    assert [p["id"] for p in (await web.get("/api/partners", headers=staff)).json()] == ["P-2"]
    shown = await web.get("/api/partners/P-1", headers=bearer(await token_for(sessions, "pa-1")))
    body = shown.json()
    assert body["partner"]["certified_solutions"] == 3
    assert [c["number"] for c in body["staff_certificates"]] == ["HCIP-0042"]
    assert set(body["missing_for_certification"]) == {"software", "service"}
    outside = await web.get("/api/partners/P-1", headers=staff)
    missing = await web.get("/api/partners/P-9", headers=staff)
    assert problem(outside, 404, "not_found") == problem(missing, 404, "not_found")
    problem(await web.get("/api/partners"), 401, "token_missing")


async def test_payout_as_payout_show(
    web: httpx.AsyncClient, sessions: Sessions, paid_payout: None
) -> None:
    for who in ("pa-1", "fin-1", "ops-1"):
        answer = await web.get(
            f"/api/payouts/{PAYOUT}", headers=bearer(await token_for(sessions, who))
        )
        assert answer.status_code == 200, (who, answer.text)
    body = answer.json()
    assert body["status"] == "PAID" and body["payment_reference"] == "PAY-7781"
    assert [s["site"] for s in body["statement"]["sites"]] == ["china", "overseas"]
    assert body["statement"]["payable"] == "5900.00"
    assert [i["invoice_number"] for i in body["invoices"]] == ["INV-55012"]
    other = bearer(await token_for(sessions, "ps-2"))
    outside = await web.get(f"/api/payouts/{PAYOUT}", headers=other)
    missing = await web.get("/api/payouts/incentive-P-2-2026-10", headers=other)
    assert problem(outside, 404, "not_found") == problem(missing, 404, "not_found")
    problem(await web.get(f"/api/payouts/{PAYOUT}"), 401, "token_missing")


@pytest.fixture
async def dev_api(
    dev_env: WorkflowEnvironment, settings: Settings, sessions: Sessions, ops: Actor
) -> AsyncIterator[tuple[httpx.AsyncClient, Client]]:
    """The console on the dev server with the schedules applied on a queue nobody polls
    (deleted afterwards)."""
    async with scheduled_console(settings, dev_env.client) as (web, _):
        yield web, dev_env.client


async def test_schedules_list_and_trigger_for_ops_only(
    dev_api: tuple[httpx.AsyncClient, Client], sessions: Sessions
) -> None:
    web, client = dev_api
    ops_token = bearer(await token_for(sessions, "ops-1"))
    listed = await web.get("/api/schedules", headers=ops_token)
    assert listed.status_code == 200, listed.text
    rows = {r["id"]: r for r in listed.json()}
    assert set(rows) == {e.id for e in SCHEDULES}
    daily = rows["renewal-scan-daily"]
    assert daily["state"] == "active" and daily["next_runs"] and daily["time_zone"]
    handle = client.get_schedule_handle("renewal-scan-daily")
    before = len((await handle.describe()).info.recent_actions)
    fired = await web.post("/api/schedules/renewal-scan-daily/trigger", headers=ops_token)
    assert fired.status_code == 200 and fired.json()["id"] == "renewal-scan-daily"

    async def ran() -> None:
        assert len((await handle.describe()).info.recent_actions) == before + 1

    await eventually(ran)
    # Anyone else: 404 for the list and the trigger, and nothing runs.
    for who in ("fin-1", "pa-1"):
        other = bearer(await token_for(sessions, who))
        problem(await web.get("/api/schedules", headers=other), 404, "not_found")
        refused = await web.post("/api/schedules/renewal-scan-daily/trigger", headers=other)
        problem(refused, 404, "not_found")
    assert len((await handle.describe()).info.recent_actions) == before + 1
    problem(await web.post("/api/schedules/nope/trigger", headers=ops_token), 404, "not_found")
    problem(await web.get("/api/schedules"), 401, "token_missing")
    # A schedule never applied (deleted here) is a refusal by its rule.
    await handle.delete()
    gone = await web.post("/api/schedules/renewal-scan-daily/trigger", headers=ops_token)
    problem(gone, 409, "schedule_missing")
