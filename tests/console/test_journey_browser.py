"""One journey through the console in headless Chromium, as issue 11 tells it: an ops user
imports a customer, a partner's staff user invites that customer from the start form, follows
the case on its process page until the customer accepts (by the emailed link), and finds the
case in the list by the customer's id."""

from __future__ import annotations

import re
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
from tests.console.test_start_browser import PORTS
from tests.console.test_start_forms import new_uscc
from tests.factories import add_partner, add_user
from tests.harness import eventually

pytestmark = [pytest.mark.timeout(300), pytest.mark.devserver]


@pytest.fixture
async def site(
    dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path, dir_sink: MailSink
) -> AsyncIterator[str]:
    """The console on a free port with a worker on the dev server (the start services set
    search attributes, which the time-skipping server does not have)."""
    async with console_site(dev_env.client, deps, tmp_path, dir_sink, PORTS) as url:
        yield url


async def test_import_invite_follow_the_case_and_find_it(
    browser: Browser, site: str, sessions: Sessions, mailbox: MailSink, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    pid, staff, ops, customer = f"P-{tag}", f"ps-{tag}", f"ops-{tag}", f"C-{tag}"
    email = f"it@{tag}.example"
    await add_partner(sessions, pid, uscc=new_uscc())
    await add_user(sessions, staff, Role.PARTNER_STAFF, partner_id=pid)
    await add_user(sessions, ops, Role.OPS)
    await with_password(sessions, staff, ops)

    # Ops imports the customer: check, preview, confirm.
    page = await new_page(browser)
    await sign_in(page, site, ops)
    await page.get_by_role("link", name="Imports", exact=True).click()
    await page.get_by_label("What the file holds").select_option("customers")
    file = tmp_path / "customers.csv"
    file.write_text(
        "id,name,email,has_credit_account,has_special_contract\n"
        f"{customer},Lakeside Trading {tag},{email},false,false\n"
        f"{customer}-B,Harbour Logistics {tag},it-b@{tag}.example,false,false\n"
    )
    await page.get_by_label("File (.csv with a header row, or .json list)").set_input_files(file)
    await page.get_by_role("button", name="Check the file").click()
    await expect(page.locator('tr[data-action="insert"]')).to_have_count(2)
    await page.get_by_role("button", name="Confirm the import").click()
    await expect(page.locator("#summary")).to_contain_text("Imported 2 rows: 2 new")
    await page.context.close()

    # The partner's staff user invites both from the start form and lands on the case.
    page = await new_page(browser)
    await sign_in(page, site, staff)
    await page.get_by_role("link", name="Start", exact=True).click()
    await page.get_by_role("link", name="Invite a customer").click()
    await page.get_by_label("Customer", exact=True).fill(f"{customer}-B")
    await page.get_by_role("button", name="Send the invitation").click()
    await page.wait_for_url(f"**/cases/invitation-{pid}-{customer}-B")
    await page.get_by_role("link", name="Start", exact=True).click()
    await page.get_by_role("link", name="Invite a customer").click()
    await page.get_by_label("Customer", exact=True).fill(customer)
    await page.get_by_label("Association type").select_option("resale")
    await page.get_by_role("button", name="Send the invitation").click()
    case_id = f"invitation-{pid}-{customer}"
    await page.wait_for_url(f"**/cases/{case_id}")
    await expect(page.get_by_role("status")).to_contain_text(email)  # the flash line

    async def invited() -> None:
        # The start answers once the checks pass; the workflow records "invited" next.
        events = " ".join(await page.locator('[data-kind="event"]').all_inner_texts())
        if "invited" not in events:
            await page.reload()
        assert "invited" in events

    await eventually(invited, interval=0.5)

    # The customer accepts with the emailed link (no sign-in: the link is the credential);
    # the worker's email goes to the suite's SMTP sink.
    async def accept_link() -> str:
        found = [re.search(r"Accept:\s+\S+(/a/\S+)", m.text()) for m in mailbox.to(email)]
        links = [f.group(1) for f in found if f]
        assert links, [m.text()[:300] for m in mailbox.to(email)]
        return links[0]

    link = await eventually(accept_link)
    customer_page = await new_page(browser)
    await customer_page.goto(site + link)  # the worker signs links for its own base URL
    await customer_page.get_by_role("button", name="Accept").click()
    await expect(customer_page.get_by_role("heading", name="Done")).to_be_visible()

    # The case page follows: reloaded until the acceptance is on its timeline.
    async def accepted() -> None:
        await page.reload()
        events = page.locator('[data-kind="event"]')
        assert "accepted" in " ".join(await events.all_inner_texts())

    await eventually(accepted, interval=0.5)
    await expect(page.locator("#waiting-for")).to_contain_text("Waiting for nobody")
    shot = tmp_path / "journey-case.png"
    await page.screenshot(path=str(shot), full_page=True)
    keep_screenshot(shot, "console-case-accepted.png")

    # The list finds it by the customer's id.
    await page.get_by_role("link", name="Cases", exact=True).click()
    await page.get_by_label("Customer id").fill(customer)
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.cases tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(case_id)
    await expect(rows.first).to_contain_text("accepted")
