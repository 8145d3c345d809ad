"""The invitation's ``sent`` update answers once the invitation email is out (update-with-start
on the real dev server), where ``checked`` answers before it (the CLI then says "queued")."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Decision, Role
from infra.smtp_sink import MailSink
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import queue_worker, save_history
from workflows.invitation import InvitationWorkflow

Sessions = async_sessionmaker[AsyncSession]


async def test_sent_answers_once_the_invitation_email_is_out(
    dev_env: WorkflowEnvironment, deps: Deps, sessions: Sessions, mailbox: MailSink
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    client = dev_env.client
    async with queue_worker(client, deps) as queue:
        start = WithStartWorkflowOperation(
            InvitationWorkflow.run,
            InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
            id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        view = await client.execute_update_with_start_workflow(
            InvitationWorkflow.sent, start_workflow_operation=start
        )
        # No waiting here: the email is in the sink by the time the starter hears "pending".
        assert view.status == InvitationStatus.PENDING
        assert [m.subject for m in mailbox.to("c-1@customer.test") if "invites you" in m.subject]
        h = await start.workflow_handle()
        done = await h.execute_update(
            InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"), nonce="n-1"), id="n-1"
        )
        assert done.status == InvitationStatus.ACCEPTED
        assert (await h.result()).status == InvitationStatus.ACCEPTED
        await save_history(h, "invitation-sent_update")
