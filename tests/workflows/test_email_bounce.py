"""A refused email never fails a process: the SMTP sink answers 550 for one recipient (or the
address holds a line break), and the invitation still completes, with the bounce on its
timeline, the outbox row marked, an open ops task, and ``show`` telling what happened."""

from __future__ import annotations

from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invitations import InvitationStatus
from domain.parties import Actor, Decision, Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent, EmailOutbox, HumanTask
from starter.cli.core import _print_show
from starter.cli.output import console
from starter.services.context import AppContext
from starter.services.core import describe_workflow
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually, finished, save_history
from tests.workflows.test_invitation import start, wait_status
from tests.workflows.test_unbinding import Sessions
from workflows.invitation import InvitationWorkflow

REFUSAL = "550 5.1.1 <c-1@customer.test>: mailbox unavailable"


async def invitation_outbox(sessions: Sessions) -> EmailOutbox:
    async with sessions() as s:
        row = await s.scalar(select(EmailOutbox).where(EmailOutbox.template == "invitation"))
    assert row is not None
    return row


async def test_a_bounced_invitation_is_on_the_timeline_and_the_process_completes(
    env: WorkflowEnvironment,
    settings: Settings,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    mailbox.handler.refuse["c-1@customer.test"] = REFUSAL
    h = await start(client, worker, staff)
    await wait_status(h, InvitationStatus.PENDING)

    async def bounced() -> EmailOutbox:
        row = await invitation_outbox(sessions)
        assert row.status == "bounced", row.status
        return row

    row = await eventually(bounced)
    assert row.attempts == 1 and (row.last_error or "").startswith(REFUSAL)
    # The customer can still accept (offline, from the CLI): the process goes on.
    v = await h.execute_update(
        InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")), id="accept"
    )
    assert v.status == InvitationStatus.ACCEPTED
    assert (await finished(env, h)).status == InvitationStatus.ACCEPTED
    assert any("accepted your invitation" in m.subject for m in mailbox.to("p-1@partner.test"))

    async with sessions() as s:
        audit = (await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        tasks = (await s.scalars(select(HumanTask).where(HumanTask.kind == "email_bounced"))).all()
    # The invitation and the "now associated" email both bounced: two events, one task.
    bounces = [e for e in audit if e.event == "email_bounced"]
    assert [e.detail.split(" email to ")[0] for e in bounces] == [
        "invitation",
        "invitation_accepted_customer",
    ]
    assert bounces[0].detail.startswith(f"invitation email to c-1@customer.test bounced: {REFUSAL}")
    assert "accepted" in [e.event for e in audit]
    (task,) = tasks
    assert (task.status, task.assignee_role, task.assignee_party) == ("open", "ops", None)
    assert "c-1@customer.test" in task.title

    ctx = AppContext(settings)
    ctx._client = client
    shown = await describe_workflow(ctx, h.id)
    await ctx.close()
    invite = next(m for m in shown["emails"] if m["status"] == "bounced")
    assert invite["attempts"] == 1 and invite["last_error"].startswith(REFUSAL)
    with console.capture() as out:
        _print_show(shown)
    text = out.get()
    assert "bounced" in text and "1 attempt " in text and f"last error: {REFUSAL}" in text
    assert "email_bounced" in text and "by C-1" in text
    await save_history(h, "invitation-bounced")


async def test_an_address_with_a_line_break_is_not_sent_and_ops_is_asked(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    await add_partner(sessions, "P-1")
    staff: Actor = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1", email="c-1@customer.test\r\nBcc: evil@x.test")
    h = await start(client, worker, staff)
    await wait_status(h, InvitationStatus.PENDING)

    async def invalid() -> None:
        row = await invitation_outbox(sessions)
        assert (row.status, row.attempts) == ("invalid", 0), row.status
        assert "line break" in (row.last_error or "")

    await eventually(invalid)

    async def reported() -> None:
        async with sessions() as s:
            task = await s.scalar(select(HumanTask).where(HumanTask.kind == "email_bounced"))
            event = await s.scalar(select(AuditEvent).where(AuditEvent.event == "email_invalid"))
        assert task is not None and task.status == "open" and task.assignee_role == "ops"
        assert event is not None and "\\r\\nBcc" in event.detail  # escaped, not a header

    await eventually(reported)
    assert mailbox.messages == []
    v = await h.execute_update(
        InvitationWorkflow.cancel, Decision(actor=staff, comment="wrong address"), id="c"
    )
    assert v.status == InvitationStatus.CANCELLED
    assert (await finished(env, h)).status == InvitationStatus.CANCELLED
