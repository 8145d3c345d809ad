"""One invitation, two languages: the zh-CN customer and the en partner each receive their
emails in their own language, as the real SMTP sink received them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Decision, Role
from infra.smtp_sink import MailSink
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually
from workflows.invitation import InvitationWorkflow

Sessions = async_sessionmaker[AsyncSession]


async def test_zh_cn_customer_and_en_partner_each_get_their_language(
    client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    # The site default of the tests is en: the customer's own row says zh-CN.
    await add_partner(sessions, "P-1", locale="en")
    await add_customer(sessions, "C-1", name="杭州云桥科技有限公司", locale="zh-CN")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    handle = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
        id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )

    async def invited() -> None:
        assert mailbox.to("c-1@customer.test")

    await eventually(invited)
    invitation = mailbox.to("c-1@customer.test")[0]
    assert invitation.subject.startswith("关联邀请：P-1 Tech Co., Ltd. 邀请您关联（代售模式）")
    assert "杭州云桥科技有限公司，您好：" in invitation.text()
    assert "北京时间" in invitation.text()
    assert '<html lang="zh-CN">' in invitation.html()

    await handle.execute_update(
        InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"), nonce="n-1"), id="n-1"
    )
    assert (await handle.result()).status == InvitationStatus.ACCEPTED

    async def both_told() -> None:
        assert len(mailbox.to("c-1@customer.test")) >= 2
        assert mailbox.to("p-1@partner.test")

    await eventually(both_told)
    customer_subjects = [m.subject for m in mailbox.to("c-1@customer.test")]
    assert "您已与 P-1 Tech Co., Ltd. 建立关联" in customer_subjects
    partner_mail = mailbox.to("p-1@partner.test")
    assert [m.subject for m in partner_mail] == ["杭州云桥科技有限公司 accepted your invitation"]
    assert '<html lang="en">' in partner_mail[0].html()
    assert "is now your sub-customer in resale mode" in partner_mail[0].text()
