"""The JSON API's start forms, case actions and cases: the same registry and services as the
console (``starter.services.commands``, ``starter.services.cases``), on a real worker on the
dev server (starts index workflows by PartnerId/CustomerId); field errors name the field,
business refusals are typed by their rule, and what is outside the scope is 404."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.parties import Role
from infra.config import Settings
from infra.tables import Invitation
from tests.console.helpers import Sessions, dev_console
from tests.console.test_api import bearer, problem, token_for
from tests.console.test_start_forms import partner, uid
from tests.factories import add_customer
from tests.harness import eventually

pytestmark = pytest.mark.devserver


@pytest.fixture
async def api(
    settings: Settings, dev_env: WorkflowEnvironment, deps: Deps
) -> AsyncIterator[httpx.AsyncClient]:
    """The API, starting workflows on this test's worker and task queue."""
    async with dev_console(settings, dev_env.client, deps) as c:
        yield c


async def invitations(sessions: Sessions) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Invitation)) or 0)


async def test_a_partner_user_invites_follows_the_case_and_cancels_it(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    pid, staff = await partner(sessions)
    other, stranger = await partner(sessions)
    cid, credit = uid("C"), uid("C")
    await add_customer(sessions, cid, email=f"{cid.lower()}@customer.test")
    await add_customer(sessions, credit, has_credit_account=True)
    me, them = bearer(await token_for(sessions, staff)), bearer(await token_for(sessions, stranger))

    kinds = {k["name"]: k for k in (await api.get("/api/start", headers=me)).json()}
    assert kinds["invite"]["path"] == "/api/start/invite" and "payout-start" not in kinds
    assert kinds["invitation-cancel"]["path"] == "/api/act/invitation-cancel"

    # Field errors name the field; a business refusal is typed by its rule; nothing starts.
    missing = await api.post("/api/start/invite", headers=me, json={"partner": pid})
    assert problem(missing, 422, "invalid_input")["field"] == "customer"
    bad = {"partner": pid, "customer": cid, "validity": "forever"}
    forever = await api.post("/api/start/invite", headers=me, json=bad)
    assert problem(forever, 422, "invalid_input")["field"] == "validity"
    bad["validity"] = "99999d"
    too_long = problem(
        await api.post("/api/start/invite", headers=me, json=bad), 422, "invalid_input"
    )
    assert too_long["errors"][0]["detail"] == "99999d is longer than 366 days", too_long
    nobody = await api.post(
        "/api/start/invite", headers=me, json={"partner": pid, "customer": "C-404"}
    )
    assert problem(nobody, 422, nobody.json()["type"])["field"] == "customer"
    refused = await api.post(
        "/api/start/invite", headers=me, json={"partner": pid, "customer": credit, "mode": "resale"}
    )
    assert "credit account" in problem(refused, 409, "credit_account_no_resale")["detail"]
    # Another partner, a form of another role: 404, as if they did not exist.
    for path, body in (
        ("/api/start/invite", {"partner": other, "customer": cid}),
        ("/api/start/payout-start", {"partner": pid, "period": "2026-10"}),
    ):
        problem(await api.post(path, headers=me, json=body), 404, "not_found")
    assert await invitations(sessions) == 0

    started = await api.post(
        "/api/start/invite",
        headers=me,
        json={"partner": pid, "customer": cid, "mode": "consulting"},
    )
    assert started.status_code == 201, started.text
    wid = f"invitation-{pid}-{cid}"
    assert (
        started.json()["workflow_id"] == wid and started.headers["location"] == f"/api/cases/{wid}"
    )
    assert started.json()["message"] == f"Invitation sent to {cid.lower()}@customer.test."
    assert started.json()["result"]["status"] == "PENDING"

    async def listed() -> None:
        # The start answers once the checks pass; the invitation's row is written by the
        # workflow's next activity, a moment later (under load: after this request).
        page = (await api.get("/api/cases", headers=me, params={"partner": pid})).json()
        assert [c["workflow_id"] for c in page["items"]] == [wid] and page["next_cursor"] is None

    await eventually(listed)
    one = await api.get(f"/api/cases/{wid}", headers=me)
    assert one.status_code == 200 and one.json()["status"] == "PENDING", one.text
    shown = await api.get(f"/api/workflows/{wid}", headers=me)
    assert shown.status_code == 200 and shown.json()["state"]["status"] == "PENDING", shown.text
    exported = await api.get("/api/cases.csv", headers=me, params={"customer": cid})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert len(rows) == 2 and wid in rows[1]
    # The other partner's user: not in its list, 404 for the case and its actions.
    assert (await api.get("/api/cases", headers=them)).json()["items"] == []
    problem(await api.get(f"/api/cases/{wid}", headers=them), 404, "not_found")
    problem(await api.get(f"/api/workflows/{wid}", headers=them), 404, "not_found")
    cancel: dict[str, Any] = {"workflow_id": wid, "comment": "wrong mode"}
    problem(
        await api.post("/api/act/invitation-cancel", headers=them, json=cancel), 404, "not_found"
    )

    done = await api.post("/api/act/invitation-cancel", headers=me, json=cancel)
    assert done.status_code == 200, done.text
    assert done.json()["result"]["status"] == "CANCELLED"


async def test_cases_come_a_page_at_a_time_with_a_cursor(
    api: httpx.AsyncClient, sessions: Sessions
) -> None:
    pid, staff = await partner(sessions, Role.PARTNER_ADMIN)
    me = bearer(await token_for(sessions, staff))
    for _ in range(3):
        cid = uid("C")
        await add_customer(sessions, cid)
        ok = await api.post(
            "/api/start/invite",
            headers=me,
            json={"partner": pid, "customer": cid, "mode": "consulting"},
        )
        assert ok.status_code == 201, ok.text
    params: dict[str, Any] = {"per_page": 2, "sort": "customer"}

    async def all_listed() -> None:
        # The invitations' rows come with their workflows' next activity (see above).
        page = (await api.get("/api/cases", headers=me, params=params)).json()
        assert page["total"] == 3, page

    await eventually(all_listed)
    seen: list[str] = []
    while True:
        page = (await api.get("/api/cases", headers=me, params=params)).json()
        assert page["total"] == 3
        seen += [c["workflow_id"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == 3 == len(set(seen)) and seen == sorted(seen)
    bad = await api.get("/api/cases", headers=me, params={"cursor": "nonsense"})
    assert problem(bad, 422, "invalid_cursor")["field"] == "cursor"
    wrong = await api.get("/api/cases", headers=me, params={"sort": "nonsense"})
    assert problem(wrong, 422, "invalid_input")["field"] == "sort"
