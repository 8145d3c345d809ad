"""A worker killed mid-flight: another worker finishes the workflow, with one email."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Decision, Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import EmailOutbox
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually
from worker import build_worker
from workflows.invitation import InvitationWorkflow


async def test_sigkill_during_smtp_send_then_another_worker_finishes(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    deps: Deps,
    mailbox: MailSink,
    task_queue: str,
    tmp_path: Path,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    mailbox.handler.delay_seconds = 30  # the SMTP server holds its 250 reply
    child_env = {
        **os.environ,
        "PARTNERFLOW_ENVIRONMENT": "test",
        "PARTNERFLOW_VAR_DIR": str(tmp_path / "var"),
        "PARTNERFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": task_queue,
        "PARTNERFLOW_DATABASE_URL": settings.database_url,
        "PARTNERFLOW_SMTP_HOST": mailbox.host,
        "PARTNERFLOW_SMTP_PORT": str(mailbox.port),
        "PARTNERFLOW_LINK_SECRET": settings.link_secret,
        # The same language as the test's own worker: the assertions read English subjects.
        "PARTNERFLOW_DEFAULT_LOCALE": settings.default_locale,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        handle = await dev_env.client.start_workflow(
            InvitationWorkflow.run,
            InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
            id="invitation-P-1-C-1-crash",
            task_queue=task_queue,
        )

        async def sending() -> None:
            async with sessions() as s:
                row = await s.scalar(select(EmailOutbox))
            assert row is not None and row.attempts == 1 and row.status == "pending"

        await eventually(sending, timeout=30)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    mailbox.handler.delay_seconds = 0

    async with build_worker(dev_env.client, deps, task_queue=task_queue):
        # The killed attempt misses its heartbeat (10 s), then the retry sends. This runs on
        # the real dev server: the killed worker's sticky queue and heartbeat time out for real.
        async def sent() -> None:
            async with sessions() as s:
                row = await s.scalar(select(EmailOutbox))
            assert row is not None and row.status == "sent", row and row.status

        await eventually(sent, timeout=60)
        await handle.execute_update(
            InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"))
        )
        assert (await handle.result()).status == InvitationStatus.ACCEPTED

    async with sessions() as s:
        invites = (
            await s.scalars(select(EmailOutbox).where(EmailOutbox.template == "invitation"))
        ).all()
    assert len(invites) == 1 and invites[0].status == "sent"
    received = [m for m in mailbox.to("c-1@customer.test") if "invites you" in m.subject]
    # The killed attempt's message may still land: it carries the same Message-ID, which
    # is how receiving systems drop the duplicate.
    assert received and {m.message_id for m in received} == {invites[0].message_id}
