"""The console in real headless Chromium (Debian's /usr/bin/chromium, Playwright).

A customer signs in by the emailed link found in the dev mailbox and accepts an invitation
from the inbox; a partner admin approves a customer-initiated unbinding; finance approves a
payout; a wrong-scope URL gives 404; a tampered email link is refused; a zh-CN customer uses
the console in Chinese and switches it to English. Screenshots of the sign-in page, the
inbox, a task page and the inbox in zh-CN are saved under docs/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select, update
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.incentives import PayoutMethod, PayoutStatus
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import AssociationMode, Role
from domain.unbinding import RequestStatus
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import Customer
from tests.console.browser import (
    free_port,
    keep_screenshot,
    new_page,
    served,
    sign_in,
    site_settings,
)
from tests.console.helpers import Sessions, open_task, with_password
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually, finished
from tests.workflows import test_incentive as incentive
from tests.workflows import test_unbinding as unbinding
from workflows.invitation import InvitationWorkflow
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(dir_sink: MailSink, tmp_path: Path, port: int) -> Settings:
    """The test settings, with emails going to the file-keeping sink and links to the
    console this test serves (English; test_browser_zh shows the console in zh-CN)."""
    return site_settings(dir_sink, tmp_path, port)


@pytest.fixture
async def site(
    settings: Settings, client: Client, port: int, dir_sink: MailSink, worker: Worker
) -> AsyncIterator[str]:
    assert dir_sink.handler.directory is not None
    async with served(settings, client, port, dir_sink.handler.directory) as url:
        yield url


async def test_customer_signs_in_by_the_emailed_link_and_accepts_the_invitation(
    browser: Browser,
    site: str,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    tmp_path: Path,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    wid = f"invitation-P-1-C-1.{uuid.uuid4().hex[:6]}"
    await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(
            partner_id="P-1", customer_id="C-1", mode=AssociationMode.CONSULTING, requested_by=staff
        ),
        id=wid,
        task_queue=worker.task_queue,
    )
    task = await open_task(sessions, "invitation_decision")
    page = await new_page(browser, height=860)

    await page.goto(f"{site}/signin")
    await page.screenshot(path=tmp_path / "signin.png", full_page=True)
    keep_screenshot(tmp_path / "signin.png", "console-signin.png")
    await page.get_by_label("Email address").fill("c-1@customer.test")
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await expect(page.get_by_role("status")).to_contain_text("sign-in link is on its way")

    await page.get_by_role("link", name="Dev mailbox").click()
    await page.get_by_role("link", name="Your PartnerFlow sign-in link").first.click()
    await page.locator("ul.links a").first.click()
    await page.get_by_role("button", name="Continue to the inbox").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    row = page.locator(f'tr[data-task="{task.id}"]')
    await expect(row).to_contain_text("Invitation from P-1 Tech Co., Ltd.")
    await page.screenshot(path=tmp_path / "inbox.png", full_page=True)
    keep_screenshot(tmp_path / "inbox.png", "console-inbox.png")

    await row.get_by_role("link").click()
    await expect(page.get_by_text("P-1 Tech Co., Ltd. (P-1)")).to_be_visible()
    await page.get_by_label("Comment").fill("Glad to work with you")
    await page.screenshot(path=tmp_path / "task.png", full_page=True)
    keep_screenshot(tmp_path / "task.png", "console-task.png")
    await page.get_by_role("button", name="Accept").click()
    await expect(page.get_by_role("status")).to_contain_text("status is now accepted")
    view = await client.get_workflow_handle(wid).query(InvitationWorkflow.status)
    assert view.status == InvitationStatus.ACCEPTED


async def test_partner_admin_approves_a_customer_unbinding_and_a_wrong_scope_url_is_404(
    browser: Browser,
    site: str,
    client: Client,
    worker: Worker,
    env: WorkflowEnvironment,
    sessions: Sessions,
) -> None:
    parties = await unbinding.add_parties(sessions, allocated="500.00")
    await add_user(sessions, "fin-9", Role.FINANCE)
    await with_password(sessions, "pa-1", "fin-9")
    h = await unbinding.start(
        client, worker, unbinding.change(parties.binding_id, parties.customer, reason="moving")
    )
    await unbinding.wait_status(h, RequestStatus.PENDING)
    task = await open_task(sessions, "binding_change_approval")

    page = await new_page(browser, height=860)
    await sign_in(page, site, "pa-1")
    await page.locator(f'tr[data-task="{task.id}"]').get_by_role("link").click()
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("status is now approved")
    assert (await h.query(UnbindingWorkflow.status)).status == RequestStatus.APPROVED

    # Finance, signed in elsewhere, types the partner's task URL: 404, as for no task at all.
    other = await new_page(browser, height=860)
    await sign_in(other, site, "fin-9")
    answer = await other.goto(f"{site}/tasks/{task.id}")
    assert answer is not None and answer.status == 404
    await expect(other.get_by_role("heading", name="Not found")).to_be_visible()
    await finished(env, h)


async def test_finance_approves_a_payout(
    browser: Browser,
    site: str,
    client: Client,
    worker: Worker,
    env: WorkflowEnvironment,
    sessions: Sessions,
) -> None:
    p = await incentive.seed(sessions)
    await with_password(sessions, "fin-1")
    h = await incentive.start(client, worker.task_queue)
    view = await incentive.apply(h, p.admin, PayoutMethod.BANK_TRANSFER)
    await incentive.submit(h, p.admin, incentive.invoice_for(view, "22222222"))
    await incentive.reach(h, PayoutStatus.AWAITING_APPROVAL)
    task = await open_task(sessions, "incentive_approval")

    page = await new_page(browser, height=860)
    await sign_in(page, site, "fin-1")
    await page.locator(f'tr[data-task="{task.id}"]').get_by_role("link").click()
    await page.get_by_role("button", name="Claim").click()
    await expect(page.get_by_role("status")).to_contain_text("You claimed")
    await page.get_by_role("button", name="Approve the payout").click()
    await expect(page.get_by_role("status")).to_contain_text("Approve the payout")
    assert (await finished(env, h)).status == PayoutStatus.PAID


async def test_a_tampered_email_link_is_refused(
    browser: Browser,
    site: str,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    dir_sink: MailSink,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    wid = f"invitation-P-1-C-1.{uuid.uuid4().hex[:6]}"
    await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(
            partner_id="P-1", customer_id="C-1", mode=AssociationMode.CONSULTING, requested_by=staff
        ),
        id=wid,
        task_queue=worker.task_queue,
    )

    async def accept_link() -> str:
        mails = dir_sink.handler.messages
        found = [re.search(r"Accept:\s+(\S+/a/\S+)", m.text()) for m in mails]
        links = [f.group(1) for f in found if f]
        assert links
        return links[0]

    link = await eventually(accept_link)
    page = await new_page(browser, height=860)
    tampered = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    answer = await page.goto(tampered)
    assert answer is not None and answer.status == 400
    await expect(page.get_by_role("heading", name="Nothing was done")).to_be_visible()
    # The real link still works without signing in.
    answer = await page.goto(link)
    assert answer is not None and answer.status == 200
    # The link page has the console's look and names the partner, not only its id.
    await expect(page.get_by_text("P-1 Tech Co., Ltd. (P-1)")).to_be_visible()
    await expect(page.get_by_role("link", name="Sign in to the console")).to_be_visible()
    await page.get_by_role("button", name="Accept").click()
    await expect(page.get_by_role("heading", name="Done")).to_be_visible()
    view = await client.get_workflow_handle(wid).query(InvitationWorkflow.status)
    assert view.status == InvitationStatus.ACCEPTED


async def test_a_zh_cn_customer_uses_the_console_in_chinese_and_switches_to_english(
    browser: Browser,
    site: str,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    tmp_path: Path,
) -> None:
    """A customer whose locale is zh-CN: the sign-in page in Chinese by the browser's
    language, the sign-in email and the inbox in Chinese by the customer's own locale, a
    decision in Chinese, then the header's switch to English."""
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    async with sessions.begin() as s:
        await s.execute(update(Customer).where(Customer.id == "C-1").values(locale="zh-CN"))
    wid = f"invitation-P-1-C-1.{uuid.uuid4().hex[:6]}"
    await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(
            partner_id="P-1", customer_id="C-1", mode=AssociationMode.CONSULTING, requested_by=staff
        ),
        id=wid,
        task_queue=worker.task_queue,
    )
    task = await open_task(sessions, "invitation_decision")
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = await context.new_page()

    await page.goto(f"{site}/signin")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await page.get_by_label("邮箱地址").fill("c-1@customer.test")
    await page.get_by_role("button", name="发送登录链接到我的邮箱").click()
    await expect(page.get_by_role("status")).to_contain_text("登录链接已发出")

    await page.get_by_role("link", name="开发邮箱").click()
    await page.get_by_role("link", name="您的 PartnerFlow 登录链接").first.click()
    await page.locator("ul.links a").first.click()
    await page.get_by_role("button", name="进入待办").click()
    await expect(page.get_by_role("heading", name="待办")).to_be_visible()
    row = page.locator(f'tr[data-task="{task.id}"]')
    await expect(row).to_contain_text("北京时间")
    await expect(row).to_contain_text("关联邀请 invitation-P-1-C-1")
    await expect(page.locator("header")).to_contain_text("客户")
    await page.screenshot(path=tmp_path / "inbox-zh.png", full_page=True)
    keep_screenshot(tmp_path / "inbox-zh.png", "console-zh-CN.png")

    await row.get_by_role("link").click()
    await expect(page.get_by_text("接受或拒绝伙伴为您的账号提供服务的关联邀请。")).to_be_visible()
    await page.get_by_label("备注（以您的名义记入时间线）").fill("期待合作")
    await page.get_by_role("button", name="接受", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("当前状态：已接受")
    view = await client.get_workflow_handle(wid).query(InvitationWorkflow.status)
    assert view.status == InvitationStatus.ACCEPTED

    # The switch: stored on the customer, the next page in English.
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    async with sessions() as s:
        assert await s.scalar(select(Customer.locale).where(Customer.id == "C-1")) == "en"
