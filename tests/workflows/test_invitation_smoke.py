from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Decision, Role
from infra.smtp_sink import MailSink
from infra.tables import Binding
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually
from workflows.invitation import InvitationWorkflow


async def test_accept_creates_binding(client: Client, worker: Worker, sessions, mailbox: MailSink):
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    h = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
        id="invitation-P-1-C-1",
        task_queue=worker.task_queue,
    )

    async def pending():
        v = await h.query(InvitationWorkflow.status)
        assert v.status == InvitationStatus.PENDING
        return v

    await eventually(pending)
    v = await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")), id="n1")
    assert v.status == InvitationStatus.ACCEPTED
    result = await h.result()
    assert result.status == InvitationStatus.ACCEPTED
    async with sessions() as s:
        b = (await s.scalars(select(Binding))).all()
    assert len(b) == 1 and b[0].mode == "resale"
    subjects = sorted(m.subject for m in mailbox.handler.messages)
    assert any("invites you" in s for s in subjects), subjects
    assert len(mailbox.to("c-1@customer.test")) == 2
