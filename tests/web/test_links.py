"""Signed links: GET decides nothing, POST decides once, forged or expired links do nothing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import Deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.notifications import LinkSpec
from domain.parties import Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import Binding, LinkUse
from starter.web.links import create_app
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually, finished
from workflows.invitation import InvitationWorkflow


async def test_accept_link_flow(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    settings: Settings,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    mailbox: MailSink,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    handle = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
        id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )

    async def link() -> str:
        mails = [m for m in mailbox.to("c-1@customer.test") if "invites you" in m.subject]
        assert mails
        found = re.search(r"Accept:\s+(\S+)", mails[0].text())
        assert found
        return found.group(1)

    url = await eventually(link)
    path = url.removeprefix("http://links.test")
    app = create_app(settings, client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        page = await web.get(path)
        assert page.status_code == 200 and "please confirm" in page.text and "<form" in page.text
        assert (await handle.query(InvitationWorkflow.status)).status == InvitationStatus.PENDING

        done = await web.post(path, data={"comment": "ok"})
        assert done.status_code == 200 and "ACCEPTED" in done.text
        again = await web.post(path)
        assert again.status_code == 200 and "already used" in again.text
        revisit = await web.get(path)
        assert "already used" in revisit.text

        forged = await web.get(path[:-3] + "abc")
        assert forged.status_code == 400 and "not valid" in forged.text

        expired = deps.signer.url(
            LinkSpec(
                name="x",
                workflow_id=handle.id,
                action="accept",
                actor_id="C-1",
                nonce="old",
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        ).removeprefix("http://links.test")
        resp = await web.post(expired)
        assert resp.status_code == 400 and "expired" in resp.text

    assert (await finished(env, handle)).status == InvitationStatus.ACCEPTED
    async with sessions() as s:
        assert len((await s.scalars(select(Binding))).all()) == 1
        assert len((await s.scalars(select(LinkUse))).all()) == 1
