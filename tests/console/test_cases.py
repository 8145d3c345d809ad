"""Cases over HTTP: the list (each filter excludes, sorting, pages, CSV, scope) from business
rows, and process pages of real invitation workflows (events with a comment, a sent and a
bounced email with its reason, timers ahead, "waiting for")."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from domain.invitations import InvitationRequest
from domain.parties import Actor, AssociationMode, Role
from infra.config import Settings
from infra.db import utcnow
from infra.i18n import format_when
from infra.smtp_sink import MailSink
from infra.tables import (
    CustomerAuthorization,
    EmailOutbox,
    HumanTask,
    IncentivePayout,
    Invitation,
)
from starter.console.routes_cases import CSV_COLUMNS
from tests.console.helpers import Sessions, decide, reads_chinese, session_for
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually
from workflows.invitation import InvitationWorkflow

CASE = re.compile(r'data-case="([^"]+)"')
INV_A = "invitation-P-1-C-1"  # pending, overdue task, started first
INV_B = "invitation-P-2-C-2"  # accepted
PAYOUT = "incentive-P-1-2026-10"
AUTH = "authorization-P-1-C-3"


async def people(sessions: Sessions) -> None:
    for pid in ("P-1", "P-2"):
        await add_partner(sessions, pid)
        await add_user(sessions, f"pa-{pid[-1]}", Role.PARTNER_ADMIN, partner_id=pid)
    for cid in ("C-1", "C-2", "C-3"):
        await add_customer(sessions, cid)
    await add_user(sessions, "ops-1", Role.OPS)
    await add_user(sessions, "fin-1", Role.FINANCE)


def invitation(wid: str, partner: str, customer: str, status: str, at: datetime) -> Invitation:
    return Invitation(
        run_key=f"{wid}:{uuid.uuid4().hex}",
        workflow_id=wid,
        partner_id=partner,
        customer_id=customer,
        mode="resale",
        channel="email",
        status=status,
        sent_to=f"{customer.lower()}@customer.test",
        invited_by="pa-1",
        created_at=at,
    )


def task(wid: str, role: str, party: str, due: datetime) -> HumanTask:
    return HumanTask(
        idempotency_key=f"test:{wid}:{uuid.uuid4().hex}",
        kind="invitation_decision",
        title=f"Decide {wid}",
        workflow_id=wid,
        assignee_role=role,
        assignee_party=party,
        created_at=due - timedelta(days=7),
        due_at=due,
        status="open",
    )


@pytest.fixture
async def rows(sessions: Sessions) -> datetime:
    """Four cases started 0, 5, 10 and 15 days after ``base`` (returned); an older run of
    INV_A that the list must not show; INV_A's task is overdue, AUTH's is not."""
    await people(sessions)
    now = utcnow()
    base = now - timedelta(days=30)
    async with sessions.begin() as s:
        s.add(invitation(INV_A, "P-1", "C-1", "EXPIRED", base - timedelta(days=9)))
        await s.flush()
        s.add(invitation(INV_A, "P-1", "C-1", "PENDING", base))
        s.add(invitation(INV_B, "P-2", "C-2", "ACCEPTED", base + timedelta(days=5)))
        s.add(
            IncentivePayout(
                payout_id=PAYOUT,
                partner_id="P-1",
                period="2026-10",
                run_id="r1",
                status="AWAITING_INVOICE",
                created_at=base + timedelta(days=10),
                updated_at=base + timedelta(days=10),
            )
        )
        s.add(
            CustomerAuthorization(
                run_key=f"{AUTH}:r1",
                workflow_id=AUTH,
                partner_id="P-1",
                customer_id="C-3",
                status="AWAITING_CUSTOMER",
                requested_by="pa-1",
                requested_at=base + timedelta(days=15),
                updated_at=base + timedelta(days=15),
            )
        )
        s.add(task(INV_A, "customer", "C-1", now - timedelta(days=1)))
        s.add(task(AUTH, "customer", "C-3", now + timedelta(days=3)))
    return base


async def listed(web: httpx.AsyncClient, query: str = "") -> list[str]:
    page = await web.get(f"/cases?{query}")
    assert page.status_code == 200, page.text[:1500]
    return CASE.findall(page.text)


async def test_each_filter_excludes_the_others(
    web: httpx.AsyncClient, settings: Settings, rows: datetime
) -> None:
    await session_for(web, settings, "ops-1")
    everything = await listed(web, "sort=started")
    assert everything == [INV_A, INV_B, PAYOUT, AUTH]  # one row per workflow: the newest run
    assert sorted(await listed(web, "type=InvitationWorkflow")) == [INV_A, INV_B]
    assert await listed(web, "status=accepted") == [INV_B]
    assert await listed(web, "partner=P-2") == [INV_B]
    assert await listed(web, "customer=C-3") == [AUTH]
    assert await listed(web, "overdue=1") == [INV_A]
    start, end = (rows + timedelta(days=4)).date(), (rows + timedelta(days=12)).date()
    assert await listed(web, f"started_from={start}&started_to={end}&sort=started") == [
        INV_B,
        PAYOUT,
    ]
    # Filters combine; an unknown type is a field error, not an empty list.
    assert await listed(web, "partner=P-1&type=InvitationWorkflow") == [INV_A]
    bad = await web.get("/cases?type=NoSuchWorkflow")
    assert bad.status_code == 422 and 'id="e-type"' in bad.text and "unknown type" in bad.text


async def test_sorting_and_pages(
    web: httpx.AsyncClient, settings: Settings, rows: datetime
) -> None:
    await session_for(web, settings, "ops-1")
    assert await listed(web) == [AUTH, PAYOUT, INV_B, INV_A]  # newest first by default
    # Partner ascending, empty last; the workflow id breaks ties.
    assert await listed(web, "sort=partner") == [AUTH, PAYOUT, INV_A, INV_B]
    assert await listed(web, "sort=due") == [INV_A, AUTH, PAYOUT, INV_B]  # no due date last
    first = await web.get("/cases?sort=started&per_page=3")
    assert CASE.findall(first.text) == [INV_A, INV_B, PAYOUT]
    assert "4 cases; page 1 of 2" in first.text and 'rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    nxt = re.search(r'href="/cases\?([^"]+)" rel="next"', first.text)
    assert nxt
    second = await web.get("/cases?" + nxt.group(1).replace("&amp;", "&"))
    assert CASE.findall(second.text) == [AUTH]
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text
    # The column header links sort, and again in the other direction.
    assert 'href="/cases?sort=-started&amp;per_page=3"' in first.text


async def test_csv_is_the_filtered_list(
    web: httpx.AsyncClient, settings: Settings, rows: datetime
) -> None:
    await session_for(web, settings, "ops-1")
    shown = await listed(web, "partner=P-1&sort=started")
    page = await web.get("/cases")
    assert 'href="/cases.csv?' in page.text
    # The export ignores the page size: every row of the filtered list.
    answer = await web.get("/cases.csv?partner=P-1&sort=started&per_page=1&page=2")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(answer.text)))
    assert tuple(table[0]) == CSV_COLUMNS
    lines = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in table[1:]]
    assert [r["workflow_id"] for r in lines] == shown == [INV_A, PAYOUT, AUTH]
    a = lines[0]
    assert (a["type"], a["status"], a["partner_id"], a["partner_name"]) == (
        "InvitationWorkflow",
        "PENDING",
        "P-1",
        "P-1 Tech Co., Ltd.",
    )
    assert (a["customer_id"], a["overdue"], a["open_tasks"]) == ("C-1", "yes", "1")
    assert datetime.fromisoformat(a["started_at"]) == rows
    assert lines[1]["customer_id"] == "" and lines[1]["overdue"] == "no"


async def test_csv_names_are_not_formulas(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions, rows: datetime
) -> None:
    from sqlalchemy import update

    from infra.tables import Partner

    async with sessions.begin() as s:
        await s.execute(
            update(Partner).where(Partner.id == "P-2").values(company_name="=HYPERLINK(1)")
        )
    await session_for(web, settings, "ops-1")
    table = list(csv.reader(io.StringIO((await web.get("/cases.csv?partner=P-2")).text)))
    assert table[1][CSV_COLUMNS.index("partner_name")] == "'=HYPERLINK(1)"


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("pa-2", [INV_B]),
        ("pa-1", [AUTH, PAYOUT, INV_A]),
        ("C-3", [AUTH]),
        ("fin-1", [PAYOUT]),
    ],
)
async def test_scope_list_page_and_csv(
    web: httpx.AsyncClient, settings: Settings, rows: datetime, who: str, sees: list[str]
) -> None:
    await session_for(web, settings, who)
    assert await listed(web) == sees
    # Even a filter naming another party's id finds nothing outside the scope.
    if who == "pa-2":
        assert await listed(web, "partner=P-1") == []
    exported = list(csv.reader(io.StringIO((await web.get("/cases.csv")).text)))
    assert [r[0] for r in exported[1:]] == sees
    missing = await web.get("/cases/invitation-nobody")
    assert missing.status_code == 404
    for wid in {INV_A, INV_B, PAYOUT, AUTH} - set(sees):
        hidden = await web.get(f"/cases/{wid}")
        assert hidden.status_code == 404, (who, wid)
        # ... the very page of a case that does not exist (its own path aside)
        assert hidden.text.replace(wid, "X") == missing.text.replace("invitation-nobody", "X")
    for wid in sees:
        assert (await web.get(f"/cases/{wid}")).status_code == 200, (who, wid)


async def test_signed_out_is_sent_to_sign_in(web: httpx.AsyncClient) -> None:
    for path in ("/cases", "/cases.csv", f"/cases/{INV_A}"):
        answer = await web.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


# ----- process pages of real workflows -----------------------------------------------------


async def start_invitation(client: Client, worker: Worker, staff: Actor, customer: str) -> str:
    wid = f"invitation-P-1-{customer}.{uuid.uuid4().hex[:6]}"
    await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(
            partner_id="P-1",
            customer_id=customer,
            mode=AssociationMode.CONSULTING,
            requested_by=staff,
        ),
        id=wid,
        task_queue=worker.task_queue,
    )
    return wid


async def open_task_of(sessions: Sessions, wid: str) -> HumanTask:
    async def find() -> HumanTask:
        async with sessions() as s:
            row = await s.scalar(
                select(HumanTask).where(HumanTask.workflow_id == wid, HumanTask.status == "open")
            )
        assert row is not None
        return row

    return await eventually(find)


async def outbox(sessions: Sessions, wid: str, status: str) -> EmailOutbox:
    async def find() -> EmailOutbox:
        async with sessions() as s:
            row = await s.scalar(
                select(EmailOutbox).where(
                    EmailOutbox.workflow_id == wid, EmailOutbox.status == status
                )
            )
        assert row is not None, f"no {status} email of {wid} yet"
        return row

    return await eventually(find)


def entries(html: str, kind: str) -> list[str]:
    """The text of the timeline entries of one kind."""
    found = re.findall(rf'<li class="entry {kind}[^"]*" data-kind="{kind}">(.*?)</li>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", f)).strip() for f in found]


async def test_process_page_merges_events_emails_and_timers(
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
    settings: Settings,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_user(sessions, "ops-1", Role.OPS)
    await add_partner(sessions, "P-2")
    await add_user(sessions, "pa-2", Role.PARTNER_ADMIN, partner_id="P-2")
    await add_customer(sessions, "C-1", email="gone@customer.test")
    await add_customer(sessions, "C-2")
    mailbox.handler.refuse["gone@customer.test"] = "550 5.1.1 mailbox unavailable"
    settings.temporal_ui_url = "http://temporal-ui.test:8233"

    pending = await start_invitation(client, worker, staff, "C-1")
    declined = await start_invitation(client, worker, staff, "C-2")
    bounced = await outbox(sessions, pending, "bounced")
    await outbox(sessions, declined, "sent")
    waiting_task = await open_task_of(sessions, pending)

    # The customer declines from its inbox, with a comment.
    await session_for(other_web, settings, "C-2")
    decision = await open_task_of(sessions, declined)
    answer = await decide(other_web, decision.id, "decline", comment="We buy directly")
    assert answer.status_code == 303, answer.text[:800]

    await session_for(web, settings, "ops-1")

    async def declined_page() -> httpx.Response:
        # The workflow records its "declined" event in an activity after the update answers.
        page = await web.get(f"/cases/{declined}")
        assert page.status_code == 200, page.text[:1500]
        events = entries(page.text, "event")
        assert any("declined by C-2" in e for e in events), events
        assert "Waiting for nobody" in page.text  # the decision closed the task
        return page

    page = await eventually(declined_page)
    events = entries(page.text, "event")
    assert any("comment by C-2" in e and "We buy directly" in e for e in events), events
    sent = entries(page.text, "email")
    assert any(e.startswith("Email") and " sent " in f" {e} " for e in sent), sent

    page = await web.get(f"/cases/{pending}")
    assert page.status_code == 200
    html = page.text
    mails = entries(html, "email")
    assert any("bounced" in m and "gone@customer.test" in m for m in mails), mails
    assert bounced.last_error and "550" in bounced.last_error
    assert any("Reason:" in m and "mailbox unavailable" in m for m in mails), mails
    assert any("invited by ps-1" in e for e in entries(html, "event"))
    timers = entries(html, "timer")
    expiry = [t for t in timers if "Expiry" in t]
    async with sessions() as s:
        expires_at = await s.scalar(
            select(Invitation.expires_at).where(Invitation.workflow_id == pending)
        )
    assert expires_at is not None and expiry, timers
    assert format_when(expires_at, "en") in expiry[0] and "in 6 days" in expiry[0], expiry
    assert any("Next scheduled step" in t for t in timers), timers  # the reminder's timer
    # The timeline is one list, oldest first, with the timers ahead at its end.
    kinds = re.findall(r'data-kind="(event|email|timer)"', html)
    assert kinds[-1] == "timer" and kinds.index("timer") > kinds.index("email")
    # Who is blocking: the customer's queue, since when, due when.
    waiting = re.search(r'id="waiting-for">(.*?)</div>', html, re.S)
    assert waiting, html[:2000]
    line = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", waiting.group(1)))
    assert "Waiting for:" in line and "Customer · C-1" in line and "since" in line
    assert waiting_task.title in line
    assert "due in" in line or "no due date" in line
    assert f"http://temporal-ui.test:8233/namespaces/default/workflows/{pending}/" in html
    assert "C-1 Ltd" in html and "P-1 Tech Co., Ltd." in html  # the parties, named
    # The case's actions for this viewer, each opening its form on this workflow.
    actions = re.search(r'<section id="case-actions".*?</section>', html, re.S)
    assert actions, html[:2000]
    cancel = f"/act/invitation-cancel?workflow_id={pending}"
    assert cancel in actions.group(0) and "/act/invitation-resend?" in actions.group(0)
    form = await web.get(cancel)
    assert form.status_code == 200 and pending in form.text, form.text[:800]

    # The partner admin of another partner: not found, and not in the list.
    await session_for(web, settings, "pa-2")
    assert (await web.get(f"/cases/{pending}")).status_code == 404
    assert pending not in (await web.get("/cases")).text


async def test_cli_list_is_the_same_list(settings: Settings, rows: datetime) -> None:
    """``partnerflow list`` calls the console's service: same rows, filters and scope."""
    import asyncio
    import json

    from typer.testing import CliRunner

    from infra.config import get_settings
    from starter.cli import app

    env = {
        "PARTNERFLOW_DATABASE_URL": settings.database_url,
        # No Temporal server here: `case` says so and shows what the database holds.
        "PARTNERFLOW_TEMPORAL_ADDRESS": "127.0.0.1:21199",
        "PARTNERFLOW_TEMPORAL_CONNECT_WAIT_SECONDS": "0",
    }

    async def cli(*args: str, command: str = "list") -> tuple[int, dict[str, object]]:
        get_settings.cache_clear()
        try:
            result = await asyncio.to_thread(
                CliRunner().invoke, app, [command, *args, "--json"], env=env
            )
        finally:
            get_settings.cache_clear()
        return result.exit_code, json.loads(result.stdout)

    code, page = await cli("--sort", "started")
    assert code == 0
    items = page["items"]
    assert isinstance(items, list)
    assert [r["workflow_id"] for r in items] == [INV_A, INV_B, PAYOUT, AUTH]
    code, page = await cli("--overdue")
    assert [r["workflow_id"] for r in page["items"]] == [INV_A]  # type: ignore[attr-defined]
    code, page = await cli("--as", "pa-2", "--limit", "1")
    assert page["total"] == 1 and page["pages"] == 1
    assert [r["workflow_id"] for r in page["items"]] == [INV_B]  # type: ignore[attr-defined]
    code, page = await cli("--type", "Nope")
    assert code == 2 and "unknown type" in json.dumps(page)

    code, view = await cli(INV_A, command="case")
    assert code == 0, view
    assert view["status"] == "PENDING" and view["temporal_error"]
    waiting = view["waiting_for"]
    assert isinstance(waiting, list) and waiting[0]["overdue"] is True
    code, view = await cli(INV_A, "--as", "pa-2", command="case")
    assert code == 2 and view["rule"] == "not_found"


async def test_list_and_case_in_chinese(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions, rows: datetime
) -> None:
    await reads_chinese(sessions, "ops-1")
    await session_for(web, settings, "ops-1")
    page = (await web.get("/cases")).text
    assert "业务流程" in page and "下载 CSV" in page and "北京时间" in page
    assert "Download CSV" not in page and "Next due" not in page
    one = (await web.get(f"/cases/{INV_A}")).text
    assert "等待：" in one and "时间线" in one and "已逾期" in one
    assert "Waiting for" not in one and "Timeline" not in one
