"""Console test helpers: sign in over HTTP, read CSRF tokens, find the inbox's tasks."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from activities.registry import Deps
from domain.incentives import PayoutStatus, PayoutView
from domain.parties import Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import HumanTask, User
from starter.console.app import create_console_app
from starter.console.auth import set_password
from starter.console.sessions import COOKIE, SessionStore
from starter.stack.schedules import SCHEDULES, apply_schedules
from tests.factories import add_user
from tests.harness import eventually, new_task_queue, queue_worker
from tests.workflows import test_incentive as incentive
from workflows.incentive import IncentivePayoutWorkflow

Sessions = async_sessionmaker[AsyncSession]
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_in(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


async def token_of(web: httpx.AsyncClient, path: str = "/signin") -> str:
    """The CSRF token a GET of ``path`` hands out (sets the pre-session cookie)."""
    page = await web.get(path)
    return csrf_in(page.text)


async def sign_in(web: httpx.AsyncClient, account: str, password: str = PASSWORD) -> httpx.Response:
    """Signs in with a password; returns the answer to the POST."""
    token = await token_of(web)
    return await web.post(
        "/signin", data={"account": account, "password": password, "csrf": token, "next": "/"}
    )


async def with_password(sessions: Sessions, *user_ids: str) -> None:
    """Gives each user the test password."""
    for uid in user_ids:
        await set_password(sessions, uid, PASSWORD)


async def signin_link(mailbox: MailSink, to: str) -> str:
    """The path of the newest emailed sign-in link to ``to``."""

    async def find() -> str:
        mails = [m for m in mailbox.to(to) if "sign-in link" in m.subject]
        assert mails
        found = re.findall(r"(http://links\.test/signin/link/\S+)", mails[-1].text())
        assert found
        return str(found[-1]).removeprefix("http://links.test")

    return await eventually(find)


async def sign_in_by_link(web: httpx.AsyncClient, mailbox: MailSink, email: str) -> None:
    """Asks for a sign-in link, follows it from the mail, confirms it."""
    token = await token_of(web)
    asked = await web.post("/signin/email", data={"email": email, "csrf": token})
    assert asked.status_code == 200 and "sign-in link is on its way" in asked.text
    path = await signin_link(mailbox, email)
    confirm = await web.get(path)
    assert confirm.status_code == 200, confirm.text
    done = await web.post(path, data={"csrf": csrf_in(confirm.text)})
    assert done.status_code == 303 and done.headers["location"] == "/"


async def open_task(sessions: Sessions, kind: str) -> HumanTask:
    """The open task of this kind, once the workflow has opened it."""

    async def find() -> HumanTask:
        async with sessions() as s:
            row = await s.scalar(
                select(HumanTask).where(HumanTask.kind == kind, HumanTask.status == "open")
            )
        assert row is not None, f"no open {kind} task yet"
        return row

    return await eventually(find)


async def task_row(sessions: Sessions, task_id: int) -> HumanTask:
    """The task as it is now."""
    async with sessions() as s:
        row = await s.get(HumanTask, task_id)
    assert row is not None
    return row


async def closed_task(sessions: Sessions, task_id: int) -> HumanTask:
    """The task's row once the workflow has closed it (it closes the task after the
    decision's answer)."""

    async def done() -> HumanTask:
        row = await task_row(sessions, task_id)
        assert row.status == "done", row.status
        return row

    return await eventually(done)


async def decide(
    web: httpx.AsyncClient, task_id: int, action: str, **fields: str
) -> httpx.Response:
    """Opens the task page and presses the action's button with the form's fields."""
    page = await web.get(f"/tasks/{task_id}")
    assert page.status_code == 200, page.text[:500]
    nonce = re.search(r'name="nonce" value="([0-9a-f]+)"', page.text)
    assert nonce
    return await web.post(
        f"/tasks/{task_id}/decide/{action}",
        data={"csrf": csrf_in(page.text), "nonce": nonce.group(1), **fields},
    )


async def session_for(web: httpx.AsyncClient, settings: Settings, principal: str) -> None:
    """Signs ``principal`` in directly (the sign-in itself is tested in test_signin)."""
    from starter.services.context import AppContext

    ctx = AppContext(settings)
    store = SessionStore(
        ctx.sessions,
        settings.link_secret,
        settings.console_session_idle,
        settings.console_session_max,
    )
    session_id = await store.create(principal)
    await ctx.close()
    web.cookies.set(COOKIE, store.cookie_value(session_id))


@asynccontextmanager
async def console_client(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """The console and its API over ASGI with a browser-like client (keeps cookies, does not
    follow redirects)."""
    app = create_console_app(settings, client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://links.test"
    ) as c:
        yield c


@asynccontextmanager
async def dev_console(
    settings: Settings, client: Client, deps: Deps
) -> AsyncIterator[httpx.AsyncClient]:
    """console_client, starting workflows on a worker of its own task queue (see
    tests.harness.queue_worker)."""
    async with (
        queue_worker(client, deps) as queue,
        console_client(settings.model_copy(update={"task_queue": queue}), client) as c,
    ):
        yield c


@asynccontextmanager
async def scheduled_console(
    settings: Settings, client: Client
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """console_client on ``client``'s server with the schedules applied on a queue nobody
    polls (a triggered run waits there), and the settings of that queue; the schedules are
    deleted afterwards."""
    settings = settings.model_copy(update={"task_queue": new_task_queue()})
    await apply_schedules(client, settings)
    try:
        async with console_client(settings, client) as web:
            yield web, settings
    finally:
        for entry in SCHEDULES:
            with contextlib.suppress(RPCError):  # a test deleted one already
                await client.get_schedule_handle(entry.id).delete()


async def awaiting_application(
    client: Client, task_queue: str, sessions: Sessions
) -> tuple[WorkflowHandle[IncentivePayoutWorkflow, PayoutView], HumanTask]:
    """A payout of P-1 waiting for its application, and the open application task; with an
    ops user ``ops-2``, who sees the task but whom the workflow does not take it from."""
    await incentive.seed(sessions)
    h = await incentive.start(client, task_queue)
    await incentive.reach(h, PayoutStatus.AWAITING_APPLICATION)
    application = await open_task(sessions, "incentive_application")
    await add_user(sessions, "ops-2", Role.OPS)
    return h, application


async def reads_chinese(sessions: Sessions, user_id: str) -> None:
    """The user's row asks for zh-CN pages (the console reads it at each request)."""
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == user_id).values(locale="zh-CN"))
