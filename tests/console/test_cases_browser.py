"""Cases in headless Chromium: a process page with a rich timeline (a bounced email with its
reason, a retried one, timers ahead) and the list, at 1280 px and on a phone (390 px).
With ``PARTNERFLOW_SCREENSHOTS=1`` the 1280 px pages become docs/console-case.png and
docs/console-cases.png."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update
from temporalio.client import Client
from temporalio.worker import Worker

from domain.invitations import EmailChanged
from domain.parties import Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import Customer
from tests.console.browser import free_port, keep_screenshot, served, signed_in
from tests.console.helpers import Sessions, with_password
from tests.console.test_cases import outbox, rows, start_invitation
from tests.factories import add_user

pytestmark = pytest.mark.timeout(240)
PORTS = range(21100, 21200)  # this module's share of the machine's ports
__all__ = ["rows"]  # the fixture, used here too


async def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen (the list's table scrolls inside its box)."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= width


async def test_case_page_and_list_in_chromium(
    browser: Browser,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    settings: Settings,
    rows: datetime,
    tmp_path: Path,
) -> None:
    staff = await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await with_password(sessions, "ops-1")
    async with sessions.begin() as s:
        await s.execute(update(Customer).where(Customer.id == "C-2").values(email="old@c2.test"))
    mailbox.handler.refuse["old@c2.test"] = "550 5.1.1 <old@c2.test>: mailbox unavailable"
    wid = await start_invitation(client, worker, staff, "C-2")
    await outbox(sessions, wid, "bounced")
    # Ops corrects the address; the first try of the new one meets a busy server.
    async with sessions.begin() as s:
        await s.execute(update(Customer).where(Customer.id == "C-2").values(email="it@c2.test"))
    mailbox.handler.fail_next.append("451 4.3.0 try again later")
    await client.get_workflow_handle(wid).signal(
        "customer_email_changed", EmailChanged(new_email="it@c2.test")
    )
    await outbox(sessions, wid, "sent")
    settings.temporal_ui_url = "http://127.0.0.1:8233"

    port = free_port(PORTS)
    async with served(settings, client, port, tmp_path / "mail") as site:
        page = await signed_in(browser, site, "ops-1", 1280)
        await page.get_by_role("link", name="Cases", exact=True).first.click()
        await expect(page.get_by_role("heading", name="Cases")).to_be_visible()
        await expect(page.locator(f'tr[data-case="{wid}"]')).to_be_visible()
        await page.screenshot(path=str(tmp_path / "cases.png"), full_page=True)
        keep_screenshot(tmp_path / "cases.png", "console-cases.png")

        # Filter by customer with the form, then open the case.
        await page.get_by_label("Customer id").fill("C-2")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.locator("tr[data-case]")).to_have_count(2)
        await page.locator(f'tr[data-case="{wid}"] a[href="/cases/{wid}"]').click()
        await expect(page.locator("#waiting-for")).to_contain_text("Waiting for:")
        timeline = page.locator("ol.merged")
        await expect(timeline.locator("li.email.mail-bounced")).to_contain_text(
            "mailbox unavailable"
        )
        await expect(timeline.locator("li.email.mail-sent")).to_contain_text("2 attempts")
        await expect(timeline.locator("li.timer").first).to_be_visible()
        href = await page.locator("#temporal-link").get_attribute("href") or ""
        assert href.startswith(f"http://127.0.0.1:8233/namespaces/default/workflows/{wid}/")
        assert href.endswith("/history")
        await page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
        keep_screenshot(tmp_path / "case.png", "console-case.png")

        phone = await signed_in(browser, site, "ops-1", 390)
        await phone.goto(f"{site}/cases")
        await fits(phone, 390)
        await phone.screenshot(path=str(tmp_path / "cases-390.png"), full_page=True)
        await phone.goto(f"{site}/cases/{wid}")
        await fits(phone, 390)
        await phone.screenshot(path=str(tmp_path / "case-390.png"), full_page=True)
    print("screenshots in", tmp_path)
