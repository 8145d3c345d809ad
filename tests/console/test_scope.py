"""Scope: for every task route, an actor outside the task's scope gets 404 (as for a task
that does not exist); claim, release and reassign. Task rows only: no workflow needed."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from domain.parties import Role
from infra.config import Settings
from infra.db import utcnow
from infra.tables import HumanTask
from tests.console.helpers import Sessions, csrf_in, session_for, task_row
from tests.factories import add_customer, add_partner, add_user

# (method, path template): every console route that names a task.
TASK_ROUTES = [
    ("GET", "/tasks/{id}"),
    ("POST", "/tasks/{id}/claim"),
    ("POST", "/tasks/{id}/release"),
    ("POST", "/tasks/{id}/reassign"),
    ("POST", "/tasks/{id}/decide/approve"),
    ("POST", "/tasks/{id}/decide/accept"),
]
# task -> (role, party); who may see it; who may not.
TASKS = {
    "partner": ("binding_change_approval", "partner_admin", "P-1"),
    "staff": ("staff_follow_up", "partner_staff", "P-1"),  # no workflow claim
    "customer": ("invitation_decision", "customer", "C-1"),
    "finance": ("incentive_approval", "finance", None),
    "manager": ("onboarding_review", "ecosystem_manager", None),
}
OUTSIDE = {
    "partner": ["pa-2", "ps-2", "C-1", "fin-1", "mgr-1", "ps-1"],
    "staff": ["pa-2", "ps-2", "C-1", "fin-1", "mgr-1"],
    "customer": ["C-2", "pa-1", "ps-1", "fin-1", "mgr-1"],
    "finance": ["pa-1", "ps-1", "C-1", "mgr-1"],
    "manager": ["pa-1", "ps-1", "C-1", "fin-1"],
}
INSIDE = {
    "partner": ["pa-1", "ops-1"],
    "staff": ["pa-1", "ps-1", "ops-1"],
    "customer": ["C-1", "ops-1"],
    "finance": ["fin-1", "fin-2", "ops-1"],
    "manager": ["mgr-1", "ops-1"],
}


async def people(sessions: Sessions) -> None:
    for pid in ("P-1", "P-2"):
        await add_partner(sessions, pid)
        n = pid[-1]
        await add_user(sessions, f"pa-{n}", Role.PARTNER_ADMIN, partner_id=pid)
        await add_user(sessions, f"ps-{n}", Role.PARTNER_STAFF, partner_id=pid)
        await add_customer(sessions, f"C-{n}")
    await add_user(sessions, "fin-1", Role.FINANCE)
    await add_user(sessions, "fin-2", Role.FINANCE)
    await add_user(sessions, "mgr-1", Role.ECOSYSTEM_MANAGER)
    await add_user(sessions, "ops-1", Role.OPS)


async def add_tasks(sessions: Sessions) -> dict[str, int]:
    ids = {}
    async with sessions.begin() as s:
        for name, (kind, role, party) in TASKS.items():
            row = HumanTask(
                idempotency_key=f"test:{name}",
                kind=kind,
                title=f"The {name} task",
                workflow_id=f"test-{name}",
                assignee_role=role,
                assignee_party=party,
                created_at=utcnow(),
                due_at=utcnow() + (timedelta(days=-1) if name == "finance" else timedelta(days=3)),
                status="open",
            )
            s.add(row)
            await s.flush()
            ids[name] = row.id
    return ids


@pytest.fixture
async def tasks(sessions: Sessions) -> dict[str, int]:
    await people(sessions)
    return await add_tasks(sessions)


async def as_(web: httpx.AsyncClient, settings: Settings, who: str) -> str:
    """Signs ``who`` in and returns a CSRF token of its session."""
    web.cookies.clear()
    await session_for(web, settings, who)
    inbox = await web.get("/")
    assert inbox.status_code == 200
    return csrf_in(inbox.text)


@pytest.mark.timeout(300)  # 324 requests; 47 s measured on the shared 2-core machine
async def test_every_task_route_is_404_outside_the_scope(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions, tasks: dict[str, int]
) -> None:
    checked = 0
    for name, outsiders in OUTSIDE.items():
        for who in outsiders:
            token = await as_(web, settings, who)
            inbox = await web.get("/")
            assert f"The {name} task" not in inbox.text, (who, name)
            for method, template in TASK_ROUTES:
                path = template.format(id=tasks[name])
                data = {"csrf": token, "to": "fin-1", "nonce": "n"} if method == "POST" else None
                answer = await web.request(method, path, data=data)
                assert answer.status_code == 404, (who, method, path, answer.status_code)
                # ... exactly like a task that does not exist
                missing = await web.request(method, template.format(id=99999), data=data)
                assert missing.status_code == 404 and missing.text.count("Not found") == (
                    answer.text.count("Not found")
                )
                checked += 1
    assert checked == sum(len(v) for v in OUTSIDE.values()) * len(TASK_ROUTES)
    # Nothing changed on any task.
    async with sessions() as s:
        rows = (await s.scalars(select(HumanTask))).all()
    assert all(r.assignee_user is None and r.status == "open" for r in rows)


async def test_the_inbox_and_task_page_inside_the_scope(
    web: httpx.AsyncClient, settings: Settings, tasks: dict[str, int]
) -> None:
    for name, insiders in INSIDE.items():
        for who in insiders:
            await as_(web, settings, who)
            inbox = await web.get("/")
            assert f"The {name} task" in inbox.text, (who, name)
            page = await web.get(f"/tasks/{tasks[name]}")
            assert page.status_code == 200 and f"The {name} task" in page.text
    # The overdue task is highlighted for finance.
    await as_(web, settings, "fin-1")
    inbox = await web.get("/")
    assert 'class="overdue"' in inbox.text and "overdue since" in inbox.text


async def test_signed_out_every_route_goes_to_the_sign_in_page(
    web: httpx.AsyncClient, tasks: dict[str, int]
) -> None:
    for method, template in [("GET", "/"), *TASK_ROUTES]:
        answer = await web.request(method, template.format(id=tasks["finance"]), data={})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


async def test_claim_release_and_reassign(
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
    tasks: dict[str, int],
) -> None:
    tid = tasks["finance"]
    token = await as_(web, settings, "fin-1")
    other = await as_(other_web, settings, "fin-2")
    claimed = await web.post(f"/tasks/{tid}/claim", data={"csrf": token})
    assert claimed.status_code == 303
    assert (await task_row(sessions, tid)).assignee_user == "fin-1"
    assert "You claimed" in (await web.get(f"/tasks/{tid}")).text
    inbox = await web.get("/")
    assert inbox.text.index("My tasks") < inbox.text.index("The finance task")

    # fin-2 cannot take it, release it, or decide it while fin-1 holds it.
    late = await other_web.post(f"/tasks/{tid}/claim", data={"csrf": other})
    assert late.status_code == 409 and "fin-1 claimed this task first" in late.text.lower()
    assert (await other_web.post(f"/tasks/{tid}/release", data={"csrf": other})).status_code == 409
    held = await other_web.post(f"/tasks/{tid}/decide/approve", data={"csrf": other, "nonce": "x"})
    assert held.status_code == 409 and "fin-1 holds this task" in held.text
    # Finance cannot reassign (ops and managers can).
    no = await web.post(f"/tasks/{tid}/reassign", data={"csrf": token, "to": "fin-2"})
    assert no.status_code == 409 and "only ops" in no.text.lower()

    released = await web.post(f"/tasks/{tid}/release", data={"csrf": token})
    assert released.status_code == 303
    assert (await task_row(sessions, tid)).assignee_user is None

    ops = await as_(web, settings, "ops-1")
    # Ops cannot give a finance task to a partner user: that user could not act on it.
    wrong = await web.post(f"/tasks/{tid}/reassign", data={"csrf": ops, "to": "pa-1"})
    assert (
        wrong.status_code == 409
        and "pa-1 (partner_admin) cannot act on this task" in wrong.text.lower()
    )
    assert (await task_row(sessions, tid)).assignee_user is None
    moved = await web.post(f"/tasks/{tid}/reassign", data={"csrf": ops, "to": "fin-2"})
    assert moved.status_code == 303
    assert (await task_row(sessions, tid)).assignee_user == "fin-2"
    mine = await other_web.get("/")
    assert mine.text.index("My tasks") < mine.text.index("The finance task")
    # A partner staff task claimed by ps-1 disappears from another staff's queue (pa sees it).
    staff = await as_(web, settings, "ps-1")
    assert (
        await web.post(f"/tasks/{tasks['staff']}/claim", data={"csrf": staff})
    ).status_code == 303
    await add_user(sessions, "ps-3", Role.PARTNER_STAFF, partner_id="P-1")
    await as_(other_web, settings, "ps-3")
    assert (await other_web.get(f"/tasks/{tasks['staff']}")).status_code == 404
    await as_(other_web, settings, "pa-1")
    assert "held by ps-1" in (await other_web.get("/")).text
