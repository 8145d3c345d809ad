"""SIGTERM lets the worker finish an in-flight activity within its grace period: the email
is sent once and recorded, and a second worker finishes the workflow. Nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Decision, Role
from infra.config import Settings
from infra.smtp_sink import MailSink, port_is_free
from infra.tables import EmailOutbox
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually, new_task_queue
from tests.ops.test_metrics_contract import wait_pending
from worker import build_worker
from workflows.invitation import InvitationWorkflow

pytestmark = pytest.mark.devserver
ROOT = Path(__file__).resolve().parents[2]


def two_free_ports() -> int:
    """A port p with p and p + 1 free (business metrics, SDK metrics)."""
    from infra.smtp_sink import free_port

    while True:
        port = free_port()
        if port < 65000 and port_is_free(port + 1):
            return port


async def test_sigterm_finishes_the_inflight_email_then_a_second_worker_ends_the_workflow(
    dev_env: WorkflowEnvironment,
    deps: Deps,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    mailbox: MailSink,
    tmp_path: Path,
) -> None:
    await add_partner(sessions, "P-1")
    await add_customer(sessions, "C-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    queue = new_task_queue()
    port = two_free_ports()
    env = {
        **os.environ,
        "PARTNERFLOW_VAR_DIR": str(tmp_path),
        "PARTNERFLOW_ENVIRONMENT": "test",
        "PARTNERFLOW_DATABASE_URL": settings.database_url,
        "PARTNERFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PARTNERFLOW_TASK_QUEUE": queue,
        "PARTNERFLOW_SMTP_HOST": mailbox.host,
        "PARTNERFLOW_SMTP_PORT": str(mailbox.port),
        "PARTNERFLOW_LINK_SECRET": settings.link_secret,
        "PARTNERFLOW_PUBLIC_BASE_URL": settings.public_base_url,
        "PARTNERFLOW_METRICS_PORT": str(port),
        "PARTNERFLOW_WORKER_SHUTDOWN_GRACE_SECONDS": "15",
        "PARTNERFLOW_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker"], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def ready() -> None:
                assert proc.poll() is None, log_path.read_text()
                try:
                    r = await http.get(f"http://127.0.0.1:{port}/readyz")
                except httpx.TransportError as exc:
                    raise AssertionError(str(exc)) from exc
                assert r.status_code == 200, r.text

            await eventually(ready, timeout=60)

        mailbox.handler.delay_seconds = 2.0  # the SMTP server holds its 250 for 2 s
        handle = await dev_env.client.start_workflow(
            InvitationWorkflow.run,
            InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
            id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
        )

        async def sending() -> EmailOutbox:
            async with sessions() as s:
                row = await s.scalar(select(EmailOutbox).where(EmailOutbox.attempts == 1))
            assert row is not None and row.status == "pending"
            return row

        row = await eventually(sending, interval=0.02)
        await asyncio.sleep(0.3)  # inside the SMTP exchange now
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
        assert code == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        mailbox.handler.delay_seconds = 0.0

    assert "in-flight activities have 15 s to finish" in log_path.read_text()
    async with sessions() as s:
        sent = await s.scalar(select(EmailOutbox).where(EmailOutbox.id == row.id))
    assert sent is not None and sent.status == "sent" and sent.attempts == 1
    assert [m.message_id for m in mailbox.handler.messages] == [row.message_id]

    async with build_worker(dev_env.client, deps, task_queue=queue):
        await wait_pending(handle)
        await handle.execute_update(
            InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"), nonce="n-1")
        )
        assert (await handle.result()).status == InvitationStatus.ACCEPTED
    async with sessions() as s:
        again = await s.scalar(select(EmailOutbox).where(EmailOutbox.id == row.id))
    assert again is not None and again.attempts == 1
    assert sum(m.message_id == row.message_id for m in mailbox.handler.messages) == 1
