"""The JSON API under /api: personal tokens (none, bad, revoked, expired: 401), scope (404
outside it, like a missing task), decisions on a real worker, problem+json errors whose type
is the rule id, cursor pagination, and the OpenAPI document listing every route."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, update
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from domain.incentives import PayoutStatus
from domain.parties import Role
from domain.unbinding import RequestStatus
from infra.config import Settings, get_settings
from infra.db import make_engine, make_sessions, utcnow
from infra.migrate import upgrade
from infra.tables import ApiToken, AuditEvent, Customer, User
from starter.cli import app as cli_app
from starter.console.api import ROUTERS, build_api
from starter.console.web import Console
from starter.services.tokens import create_token, digest, revoke_token
from tests.console.helpers import (
    Sessions,
    awaiting_application,
    closed_task,
    open_task,
    session_for,
    task_row,
)
from tests.console.test_scope import add_tasks, people
from tests.factories import add_partner, add_user
from tests.harness import finished
from tests.workflows import test_incentive as incentive
from tests.workflows import test_unbinding as unbinding
from workflows.incentive import IncentivePayoutWorkflow
from workflows.unbinding import UnbindingWorkflow

PROBLEM = "application/problem+json"


async def token_for(sessions: Sessions, user_id: str, ttl: timedelta = timedelta(days=1)) -> str:
    return (await create_token(sessions, user_id, f"test {user_id}", ttl)).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(answer: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    """The answer is a problem document of this status and type; returns it."""
    assert answer.status_code == status, (answer.status_code, answer.text[:1000])
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body: dict[str, Any] = answer.json()
    assert body["type"] == type_ and body["status"] == status, body
    assert body["title"] and body["detail"], body
    return body


async def test_no_token_a_bad_one_a_revoked_one_an_expired_one_are_401(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-1")
    await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    good = await token_for(sessions, "pa-1")

    missing = problem(await web.get("/api/me"), 401, "token_missing")
    assert "Bearer" in missing["detail"] and missing["title"] == "Authentication required"
    # Before the token is known, the reader's language is Accept-Language's.
    zh = problem(
        await web.get("/api/me", headers={"Accept-Language": "zh-CN"}), 401, "token_missing"
    )
    assert zh["title"] == "需要认证"
    assert (await web.get("/api/me")).headers["www-authenticate"] == 'Bearer realm="partnerflow"'
    bad = await web.get("/api/tasks", headers=bearer("pfat_" + "x" * 43))
    problem(bad, 401, "token_invalid")
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    problem(
        await web.get("/api/tasks", headers={"Authorization": f"Basic {good}"}),
        401,
        "token_missing",
    )

    me = await web.get("/api/me", headers=bearer(good))
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == "pa-1" and me.json()["partner_id"] == "P-1"
    assert me.headers["cache-control"] == "no-store"
    assert me.json()["token"]["prefix"] == good[:11] and good not in me.text

    # A console session cookie is no credential here: the API reads the header only.
    await session_for(web, settings, "pa-1")
    problem(await web.get("/api/me"), 401, "token_missing")
    web.cookies.clear()

    async with sessions() as s:
        row = await s.scalar(select(ApiToken).where(ApiToken.token_hash == digest(good)))
    assert row is not None and row.last_used_at is not None
    await revoke_token(sessions, row.id)
    problem(await web.get("/api/me", headers=bearer(good)), 401, "token_revoked")

    expiring = await token_for(sessions, "pa-1")
    async with sessions.begin() as s:
        await s.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == digest(expiring))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    problem(await web.get("/api/me", headers=bearer(expiring)), 401, "token_expired")

    # A deactivated user's tokens stop at once.
    active = await token_for(sessions, "pa-1")
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == "pa-1").values(active=False))
    problem(await web.get("/api/me", headers=bearer(active)), 401, "token_invalid")


async def test_partner_admin_lists_and_decides_an_unbinding_other_partners_get_404(
    client: Client,
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: Sessions,
    web: httpx.AsyncClient,
) -> None:
    parties = await unbinding.add_parties(sessions, allocated="500.00")
    await add_partner(sessions, "P-2")
    await add_user(sessions, "pa-2", Role.PARTNER_ADMIN, partner_id="P-2")
    h = await unbinding.start(
        client, worker, unbinding.change(parties.binding_id, parties.customer, reason="moving")
    )
    await unbinding.wait_status(h, RequestStatus.PENDING)
    task = await open_task(sessions, "binding_change_approval")
    admin = bearer(await token_for(sessions, "pa-1"))
    other = bearer(await token_for(sessions, "pa-2"))
    staff = bearer(await token_for(sessions, "ps-1"))

    listed = await web.get("/api/tasks", headers=admin)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [t["id"] for t in items] == [task.id] and listed.json()["next_cursor"] is None
    assert {a["name"] for a in items[0]["actions"]} == {"approve", "reject"}
    one = await web.get(f"/api/tasks/{task.id}", headers=admin)
    assert one.status_code == 200 and one.json()["facts"]["status"] == "PENDING", one.text

    # Another partner's admin, and the partner's staff (an admin task): 404, as if missing.
    for outsider in (other, staff):
        assert (await web.get("/api/tasks", headers=outsider)).json()["items"] == []
        routes = [("GET", f"/api/tasks/{task.id}"), ("POST", f"/api/tasks/{task.id}/claim")]
        routes += [("POST", f"/api/tasks/{task.id}/decide")]
        # The staff see their partner's case, not the admin's task; the other partner neither.
        routes += [("GET", f"/api/workflows/{h.id}")] if outsider is other else []
        for method, path in routes:
            body = {"action": "approve"} if path.endswith("decide") else None
            answer = await web.request(method, path, headers=outsider, json=body)
            elsewhere = path.replace(str(task.id), "99999").replace(h.id, "binding-change-9")
            missing = await web.request(method, elsewhere, headers=outsider, json=body)
            assert problem(answer, 404, "not_found") == problem(missing, 404, "not_found")
    assert (await web.get(f"/api/workflows/{h.id}", headers=staff)).status_code == 200

    # Validation: the field is named; nothing reaches the workflow.
    no_action = await web.post(f"/api/tasks/{task.id}/decide", headers=admin, json={})
    assert problem(no_action, 422, "invalid_input")["field"] == "action"
    wrong = await web.post(f"/api/tasks/{task.id}/decide", headers=admin, json={"action": "accept"})
    assert problem(wrong, 422, "unknown_decision")["field"] == "action"
    assert (await h.query(UnbindingWorkflow.status)).status == RequestStatus.PENDING

    done = await web.post(
        f"/api/tasks/{task.id}/decide",
        headers=admin,
        json={"action": "approve", "comment": "Settled by phone", "nonce": "api-test-approve-1"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "APPROVED"
    assert (await h.query(UnbindingWorkflow.status)).status == RequestStatus.APPROVED
    closed = await closed_task(sessions, task.id)
    assert closed.decided_by == "pa-1"
    async with sessions() as s:
        comment = await s.scalar(
            select(AuditEvent).where(AuditEvent.workflow_id == h.id, AuditEvent.event == "comment")
        )
    assert comment is not None and comment.actor == "pa-1" and "Settled by phone" in comment.detail
    # Deciding a closed task again is refused with its rule; the first decision stands.
    again = await web.post(f"/api/tasks/{task.id}/decide", headers=admin, json={"action": "reject"})
    problem(again, 409, "task_closed")

    shown = await web.get(f"/api/workflows/{h.id}", headers=admin)
    assert shown.status_code == 200, shown.text
    events = [e["event"] for e in shown.json()["timeline"]]
    assert "comment" in events and shown.json()["tasks"][0]["decided_by"] == "pa-1"
    await finished(env, h)


async def test_business_refusals_are_problems_typed_by_their_rule(
    client: Client,
    worker: Worker,
    sessions: Sessions,
    web: httpx.AsyncClient,
) -> None:
    h, application = await awaiting_application(client, worker.task_queue, sessions)
    ops = bearer(await token_for(sessions, "ops-2"))
    admin = bearer(await token_for(sessions, "P-1-admin"))

    # ops see every task, but the workflow takes the application from the partner admin only.
    refused = await web.post(
        f"/api/tasks/{application.id}/decide", headers=ops, json={"action": "apply"}
    )
    assert "partner_admin" in problem(refused, 409, "permission_denied")["detail"]
    assert (await h.query(IncentivePayoutWorkflow.status)).status == (
        PayoutStatus.AWAITING_APPLICATION
    )
    bad_method = await web.post(
        f"/api/tasks/{application.id}/decide",
        headers=admin,
        json={"action": "apply", "fields": {"method": "cash"}},
    )
    assert problem(bad_method, 422, "invalid_input")["field"].startswith("fields.")
    applied = await web.post(
        f"/api/tasks/{application.id}/decide",
        headers=admin,
        json={"action": "apply", "fields": {"method": "bank_transfer"}},
    )
    assert applied.status_code == 200, applied.text
    view = await incentive.reach(h, PayoutStatus.AWAITING_INVOICE)

    invoice_task = await open_task(sessions, "incentive_invoice")
    fields = {
        k: str(v)
        for k, v in incentive.invoice_for(view, "22222222").model_dump(mode="json").items()
    }
    path = f"/api/tasks/{invoice_task.id}/decide"
    lots = await web.post(
        path,
        headers=admin,
        json={"action": "submit_invoice", "fields": {**fields, "total": "lots"}},
    )
    assert problem(lots, 422, "invalid_input")["field"] == "fields.total"
    ordinary = await web.post(
        path,
        headers=admin,
        json={"action": "submit_invoice", "fields": {**fields, "invoice_type": "vat_ordinary"}},
    )
    body = problem(ordinary, 422, "special_invoice_required")
    assert body["rules"] == ["special_invoice_required"] and body["title"] == "Refused", body
    ok = await web.post(path, headers=admin, json={"action": "submit_invoice", "fields": fields})
    assert ok.status_code == 200, ok.text
    await incentive.reach(h, PayoutStatus.AWAITING_APPROVAL)


async def test_claim_release_reassign_and_the_cursor(
    web: httpx.AsyncClient, sessions: Sessions
) -> None:
    await people(sessions)
    ids = await add_tasks(sessions)
    ops = bearer(await token_for(sessions, "ops-1"))
    pa1 = bearer(await token_for(sessions, "pa-1"))

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await web.get("/api/tasks", headers=ops, params=params)).json()
        seen += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and sorted(seen) == sorted(ids.values()) and len(set(seen)) == len(seen)
    # Overdue first, like the inbox.
    assert seen[0] == ids["finance"]
    problem(
        await web.get("/api/tasks", headers=ops, params={"cursor": "nonsense"}),
        422,
        "invalid_cursor",
    )
    assert (
        problem(
            await web.get("/api/tasks", headers=ops, params={"limit": 0}), 422, "invalid_input"
        )["field"]
        == "limit"
    )

    claimed = await web.post(f"/api/tasks/{ids['staff']}/claim", headers=pa1)
    assert claimed.status_code == 200 and claimed.json()["assignee_user"] == "pa-1", claimed.text
    mine = await web.get("/api/tasks", headers=pa1, params={"holder": "me"})
    assert [t["id"] for t in mine.json()["items"]] == [ids["staff"]]
    taken = await web.post(f"/api/tasks/{ids['staff']}/claim", headers=ops)
    assert "pa-1 claimed this task first" in problem(taken, 409, "task_held")["detail"]
    to_nobody = await web.post(
        f"/api/tasks/{ids['staff']}/reassign", headers=pa1, json={"to": "nobody"}
    )
    assert problem(to_nobody, 422, "unknown_user")["field"] == "to"
    moved = await web.post(f"/api/tasks/{ids['staff']}/reassign", headers=pa1, json={"to": "ps-1"})
    assert moved.status_code == 200 and moved.json()["assignee_user"] == "ps-1", moved.text
    # A task someone else holds is not theirs to decide: refused before the workflow is asked.
    fin1 = bearer(await token_for(sessions, "fin-1"))
    fin2 = bearer(await token_for(sessions, "fin-2"))
    assert (await web.post(f"/api/tasks/{ids['finance']}/claim", headers=fin1)).status_code == 200
    held = await web.post(
        f"/api/tasks/{ids['finance']}/decide", headers=fin2, json={"action": "approve"}
    )
    assert "fin-1 holds this task" in problem(held, 409, "task_held")["detail"]
    released = await web.post(f"/api/tasks/{ids['staff']}/release", headers=pa1)
    assert released.status_code == 200 and released.json()["assignee_user"] is None
    assert (await task_row(sessions, ids["staff"])).assignee_user is None


async def test_a_partner_as_partner_show_shows_it_in_scope_only(
    web: httpx.AsyncClient, sessions: Sessions
) -> None:
    await people(sessions)
    for who, status in (("pa-1", 200), ("ps-1", 200), ("fin-1", 200), ("pa-2", 404), ("C-1", 401)):
        headers = bearer(await token_for(sessions, who)) if who != "C-1" else {}
        answer = await web.get("/api/partners/P-1", headers=headers)
        assert answer.status_code == status, (who, answer.text)
    shown = await web.get("/api/partners/P-1", headers=bearer(await token_for(sessions, "ps-1")))
    assert shown.json()["partner"]["id"] == "P-1" and "missing_for_certification" in shown.json()
    ops = bearer(await token_for(sessions, "ops-1"))
    missing = await web.get("/api/partners/P-404", headers=ops)
    outside = await web.get("/api/partners/P-1", headers=bearer(await token_for(sessions, "pa-2")))
    assert problem(missing, 404, "not_found") == problem(outside, 404, "not_found")


async def test_ops_preview_then_import_a_file_others_get_404(
    web: httpx.AsyncClient, sessions: Sessions
) -> None:
    await people(sessions)  # customers C-1 and C-2 exist
    ops = bearer(await token_for(sessions, "ops-1"))
    csv_type = {"Content-Type": "text/csv"}
    kinds = await web.get("/api/imports", headers=ops)
    assert "customers" in {k["kind"] for k in kinds.json()}
    assert "applications" not in {k["kind"] for k in kinds.json()}
    text = (
        "id,name,email,has_credit_account\nC-1,C-1 Ltd,new@x.test,true\nC-3,Three,c3@x.test,false\n"
    )
    preview = await web.post(
        "/api/imports/customers", params={"dry_run": "true"}, headers=ops | csv_type, content=text
    )
    assert preview.status_code == 200, preview.text
    assert (preview.json()["inserts"], preview.json()["updates"]) == (1, 1)
    async with sessions() as s:
        assert await s.get(Customer, "C-3") is None  # a preview writes nothing
    bad = "id,name,email,has_credit_account\nC-4,Four,not-an-email,false\n"
    refused = await web.post("/api/imports/customers", headers=ops | csv_type, content=bad)
    body = problem(refused, 422, "invalid_rows")
    assert body["errors"][0]["field"] == "row 1.email", body
    wrong = await web.post(
        "/api/imports/customers", headers=ops | {"Content-Type": "text/plain"}, content=text
    )
    problem(wrong, 415, "invalid_file")
    huge = "id,name,email,has_credit_account\n" + "C-9,Nine,c9@x.test,false\n" * 300_000
    problem(
        await web.post("/api/imports/customers", headers=ops | csv_type, content=huge),
        413,
        "invalid_file",
    )
    done = await web.post("/api/imports/customers", headers=ops | csv_type, content=text)
    assert done.status_code == 200 and (done.json()["inserted"], done.json()["updated"]) == (1, 1)
    async with sessions() as s:
        row = await s.get(Customer, "C-3")
    assert row is not None and row.email == "c3@x.test"
    for who in ("pa-1", "fin-1"):
        other = bearer(await token_for(sessions, who))
        problem(await web.get("/api/imports", headers=other), 404, "not_found")
        answer = await web.post("/api/imports/customers", headers=other | csv_type, content=text)
        problem(answer, 404, "not_found")
    problem(
        await web.post("/api/imports/applications", headers=ops | csv_type, content=text),
        404,
        "not_found",
    )


async def test_the_openapi_document_lists_every_route_and_the_docs_page_shows_them(
    web: httpx.AsyncClient, settings: Settings
) -> None:
    document = await web.get("/api/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    api = build_api(Console(settings))
    routes = {
        (method.lower(), route.path)
        for route in [*api.routes, *(r for router in ROUTERS for r in router.routes)]
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    documented = {(m, p) for p, item in paths.items() for m in item if m != "parameters"}
    assert routes == documented and len(routes) >= 8, (routes, documented)
    for method, path in documented:
        op = paths[path][method]
        assert op["summary"], (method, path)
        assert path == "/me" or "404" in op["responses"], (method, path)
    assert "token" in document.json()["components"]["securitySchemes"]
    page = await web.get("/api/docs", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    for _, path in documented:
        assert f"<code>/api{path}</code>" in page.text, path
    zh = await web.get("/api/docs", headers={"Accept-Language": "zh-CN"})
    assert "接口操作" in zh.text and "认领任务" in zh.text  # page and summaries translated


def test_token_create_prints_the_token_once_and_stores_its_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)

    async def seed() -> None:
        engine = make_engine(url)
        await add_user(make_sessions(engine), "fin-1", Role.FINANCE)
        await engine.dispose()

    async def stored() -> list[ApiToken]:
        engine = make_engine(url)
        try:
            async with make_sessions(engine)() as s:
                return list((await s.scalars(select(ApiToken))).all())
        finally:
            await engine.dispose()

    asyncio.run(seed())
    runner = CliRunner()
    try:
        made = runner.invoke(
            cli_app, ["token", "create", "--user", "fin-1", "--name", "ERP", "--json"]
        )
        assert made.exit_code == 0, made.output
        doc = json.loads(made.stdout)
        token = doc["token"]
        assert token.startswith("pfat_") and len(token) >= 45 and doc["state"] == "active"
        rows = asyncio.run(stored())
        assert len(rows) == 1 and rows[0].token_hash == digest(token)
        assert token not in repr(vars(rows[0])) and rows[0].prefix == token[:11]
        assert (rows[0].expires_at - rows[0].created_at).days == 90
        # Listed without the secret, ever again.
        listed = runner.invoke(cli_app, ["token", "list", "--user", "fin-1", "--json"])
        assert listed.exit_code == 0 and token not in listed.stdout
        assert json.loads(listed.stdout)[0]["prefix"] == token[:11]
        human = runner.invoke(cli_app, ["token", "create", "--user", "fin-1", "--name", "BI"])
        assert human.exit_code == 0 and "cannot be shown again" in human.stdout
        too_long = runner.invoke(
            cli_app, ["token", "create", "--user", "fin-1", "--name", "x", "--expires", "400d"]
        )
        assert too_long.exit_code == 2 and "longer than 366 days" in too_long.output
        nobody = runner.invoke(
            cli_app, ["token", "create", "--user", "C-9", "--name", "x", "--json"]
        )
        assert nobody.exit_code == 2 and json.loads(nobody.stdout)["rule"] == "unknown_user"
        revoked = runner.invoke(cli_app, ["token", "revoke", str(rows[0].id), "--json"])
        assert revoked.exit_code == 0 and json.loads(revoked.stdout)["state"] == "revoked"
    finally:
        get_settings.cache_clear()
