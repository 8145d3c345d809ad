"""A link page speaks its recipient's language: a zh-CN customer's invitation link opens a
Chinese confirmation page whatever the browser says; a choice made with the console's switch
(the ``pf_lang`` cookie) wins."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invitations import InvitationRequest
from domain.parties import Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import Customer
from starter.console.lang import LANG_COOKIE
from starter.web.links import create_app
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually
from workflows.invitation import InvitationWorkflow


async def test_a_zh_cn_recipients_link_page_is_chinese(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    mailbox: MailSink,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    async with sessions.begin() as s:
        await s.execute(update(Customer).where(Customer.id == "C-1").values(locale="zh-CN"))
    await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
        id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )

    async def link() -> str:
        mails = mailbox.to("c-1@customer.test")
        assert mails
        found = re.search(r"http://links\.test(/a/\S+)", mails[0].text())
        assert found
        return found.group(1)

    path = await eventually(link)
    app = create_app(settings, client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        page = await web.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
        assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
        assert "<title>接受：请确认 · PartnerFlow</title>" in page.text
        assert "伙伴中心" in page.text and "登录控制台" in page.text
        assert "北京时间" in page.text and "please confirm" not in page.text
        web.cookies.set(LANG_COOKIE, "en")
        chosen = await web.get(path)
        assert '<html lang="en">' in chosen.text and "Accept: please confirm" in chosen.text
