"""The CLI against the real dev server: ``invite`` says an email is queued until the mail
server's 250, ``show`` gives each email's status and attempts, and a decision records the
operator (``PARTNERFLOW_OPERATOR``) next to the actor on the timeline."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from domain.parties import Role
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent, EmailOutbox
from starter.cli import app
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually
from tests.workflows.test_unbinding import Sessions

pytestmark = pytest.mark.devserver


async def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, list(args), env=env, catch_exceptions=False
    )
    return result.exit_code, result.stdout


async def test_invite_says_queued_until_the_250_and_the_timeline_names_the_operator(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    mailbox: MailSink,
    cli_env: dict[str, str],
    dev_worker: None,
) -> None:
    await add_partner(sessions, "P-Q")
    await add_user(sessions, "ps-q", Role.PARTNER_STAFF, partner_id="P-Q")
    await add_customer(sessions, "C-Q1")
    await add_customer(sessions, "C-Q2")
    env = {**cli_env, "PARTNERFLOW_OPERATOR": "alice"}
    mailbox.handler.delay_seconds = 3.0  # the server holds its 250: the email is not sent yet

    code, out = await run(env, "invite", "--partner", "P-Q", "--customer", "C-Q1", "--as", "ps-q")
    assert code == 0, out
    assert "email to c-q1@customer.test queued (not yet accepted by the mail server" in out
    assert "sent to" not in out
    code, raw = await run(
        env, "invite", "--partner", "P-Q", "--customer", "C-Q2", "--as", "ps-q", "--json"
    )
    doc = json.loads(raw)
    assert code == 0 and doc["email"] == {
        "status": "queued",
        "to": doc["email"]["to"],  # the row may not be written yet
        "error": None,
    }, doc

    async def sent() -> None:
        async with sessions() as s:
            rows = (await s.scalars(select(EmailOutbox))).all()
        assert sorted(r.status for r in rows) == ["sent", "sent"]

    await eventually(sent)
    mailbox.handler.delay_seconds = 0.0
    wf_id = "invitation-P-Q-C-Q1"
    code, raw = await run(env, "show", wf_id, "--json")
    (email,) = json.loads(raw)["emails"]
    assert (email["status"], email["attempts"], email["last_error"]) == ("sent", 1, None)

    code, out = await run(env, "invitation", "accept", wf_id, "--as", "C-Q1", "--json")
    assert code == 0 and json.loads(out)["status"] == "ACCEPTED", out

    async def audited() -> None:  # the workflow records it as it finishes
        async with sessions() as s:
            event = await s.scalar(select(AuditEvent).where(AuditEvent.event == "accepted"))
        assert event is not None and (event.actor, event.operator) == ("C-Q1", "alice")

    await eventually(audited)
    code, out = await run(env, "show", wf_id)
    assert code == 0 and "by C-Q1 (operator alice)" in out, out
    assert "sent     c-q1@customer.test" in out and "1 attempt " in out, out
    code, out = await run(env, "invitation", "cancel", "invitation-P-Q-C-Q2", "--as", "ps-q")
    assert code == 0, out
