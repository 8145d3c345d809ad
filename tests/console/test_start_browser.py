"""The invite form in headless Chromium: a partner's staff user finds it from the header, is
refused on the form for a customer with a credit account, then invites another customer; the
form works at 1280 px and at a phone's 390 px without sideways scrolling."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.parties import Role
from infra.smtp_sink import MailSink
from tests.console.browser import console_site, keep_screenshot, new_page, sign_in
from tests.console.helpers import Sessions, with_password
from tests.console.test_start_forms import new_uscc
from tests.factories import add_customer, add_partner, add_user

pytestmark = [pytest.mark.timeout(240), pytest.mark.devserver]

PORTS = range(21000, 21100)  # this suite's share of the machine's ports


@pytest.fixture
async def site(
    dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path, dir_sink: MailSink
) -> AsyncIterator[str]:
    """The console on a port of this suite's range, with a worker on the dev server."""
    async with console_site(dev_env.client, deps, tmp_path, dir_sink, PORTS) as url:
        yield url


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

    page = await new_page(browser)
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
    await page.context.close()
