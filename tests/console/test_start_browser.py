"""The invite form in headless Chromium: a partner's staff user finds it from the header, is
refused on the form for a customer with a credit account, then invites another customer; the
form works at 1280 px and at a phone's 390 px without sideways scrolling."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.parties import Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from tests.console.browser import chromium, keep_screenshot, served
from tests.console.helpers import PASSWORD, Sessions, with_password
from tests.console.test_start_forms import new_uscc
from tests.factories import add_customer, add_partner, add_user
from tests.harness import new_task_queue
from worker import build_worker

pytestmark = [pytest.mark.timeout(240), pytest.mark.devserver]

PORTS = range(21000, 21100)  # this suite's share of the machine's ports


def free_port() -> int:
    """A free port in this suite's range."""
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


@pytest.fixture
def dir_sink(tmp_path: Path) -> Iterator[MailSink]:
    """An SMTP sink that keeps .eml files, as the dev stack's does."""
    with MailSink(directory=tmp_path / "mail") as sink:
        yield sink


@pytest.fixture
async def site(
    dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path, dir_sink: MailSink
) -> AsyncIterator[str]:
    """The console on a port of this suite's range, with a worker on the dev server."""
    port, queue = free_port(), new_task_queue()
    settings = Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        smtp_host=dir_sink.host,
        smtp_port=dir_sink.port,
        link_secret="test-secret-" + "x" * 32,
        public_base_url=f"http://127.0.0.1:{port}",
        default_locale="en",
        task_queue=queue,
        _env_file=None,
    )
    assert dir_sink.handler.directory is not None
    async with (
        build_worker(dev_env.client, deps, task_queue=queue),
        served(settings, dev_env.client, port, dir_sink.handler.directory) as url,
    ):
        yield url
        async for wf in dev_env.client.list_workflows(
            f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"
        ):
            await dev_env.client.get_workflow_handle(wf.id, run_id=wf.run_id).terminate("test over")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def sign_in(page: Page, site: str, account: str) -> None:
    await page.goto(f"{site}/signin")
    await page.get_by_label("User id or email").fill(account)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


async def test_partner_staff_invites_from_the_form(
    browser: Browser, site: str, sessions: Sessions, tmp_path: Path
) -> None:
    pid, staff = f"P-{uuid.uuid4().hex[:6]}", f"ps-{uuid.uuid4().hex[:6]}"
    blocked, ok = f"C-{uuid.uuid4().hex[:6]}", f"C-{uuid.uuid4().hex[:6]}"
    await add_partner(sessions, pid, uscc=new_uscc())
    await add_user(sessions, staff, Role.PARTNER_STAFF, partner_id=pid)
    await with_password(sessions, staff)
    await add_customer(sessions, blocked, has_credit_account=True)
    await add_customer(sessions, ok)

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, site, staff)
    await page.get_by_role("link", name="Start", exact=True).click()
    await expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    await page.screenshot(path=str(tmp_path / "start-page.png"), full_page=True)
    await page.get_by_role("link", name="Invite a customer").click()
    await expect(page.get_by_label("Partner", exact=True)).to_have_value(pid)
    await page.get_by_label("Customer", exact=True).fill(blocked)
    await page.get_by_label("Association type").select_option("resale")
    await page.get_by_role("button", name="Send the invitation").click()
    await expect(page.locator("#refusal")).to_contain_text("credit account")
    shot = tmp_path / "console-start.png"
    await page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot, "console-start.png")

    # The same page on a phone: nothing wider than the screen.
    await page.set_viewport_size({"width": 390, "height": 844})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width} px)"
    await page.screenshot(path=str(tmp_path / "console-start-phone.png"), full_page=True)

    # Keyboard only: the customer field, then Enter submits.
    await page.get_by_label("Customer", exact=True).fill(ok)
    await page.get_by_label("Customer", exact=True).press("Enter")
    await page.wait_for_url(f"**/cases/invitation-{pid}-{ok}")
    await context.close()
