"""Each platform activity run twice with the same key: one row, one email."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.invitations import InvitationActivities
from activities.notify import EmailActivities
from activities.registry import Deps
from activities.tasks import TaskActivities
from domain.invitation_models import CreateBinding, RecordInvitation
from domain.invitations import Channel, InvitationStatus
from domain.notifications import EmailRequest, LinkSpec
from domain.parties import AssociationMode, Role
from domain.tasks import AuditRecord, CloseTask, OpenTask
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent, Binding, EmailOutbox, HumanTask, Invitation
from tests.factories import add_customer, add_partner

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def email_activities(deps: Deps) -> EmailActivities:
    return EmailActivities(
        deps.sessions,
        deps.mailer,
        deps.renderer,
        deps.signer,
        sender="PartnerFlow <pf@test>",
        message_id_domain="pf.test",
        default_locale="en",
    )


def binding_request(notify: list[EmailRequest] | None = None) -> CreateBinding:
    """Customer C-1 accepts partner P-1's resale invitation inv-1."""
    return CreateBinding(
        key="inv-1/run:binding",
        workflow_id="inv-1",
        partner_id="P-1",
        customer_id="C-1",
        mode=AssociationMode.RESALE,
        decided_by="C-1",
        at=NOW,
        notify=notify or [],
    )


def invitation_email(key: str = "inv-1:invite:0", to: str = "c@x.test") -> EmailRequest:
    return EmailRequest(
        key=key,
        to=to,
        template="invitation",
        context={
            "partner_name": "P & Co",
            "customer_name": "C <Ltd>",
            "customer_id": "C-1",
            "mode": "resale",
            "expires_at": "2026-11-30",
            "workflow_id": "inv-1",
        },
        links=[
            LinkSpec(
                name="accept_url", workflow_id="inv-1", action="accept", actor_id="C-1", nonce="n1"
            ),
            LinkSpec(
                name="decline_url",
                workflow_id="inv-1",
                action="decline",
                actor_id="C-1",
                nonce="n2",
            ),
        ],
        workflow_id="inv-1",
    )


async def count(sessions: Sessions, table: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def test_send_email_twice_sends_once(db_kind: str, deps: Deps, mailbox: MailSink) -> None:
    acts = email_activities(deps)
    first = await acts.send_email(invitation_email())
    second = await acts.send_email(invitation_email())
    assert (first.status, second.status) == ("sent", "already_sent")
    assert first.message_id == second.message_id
    assert await count(deps.sessions, EmailOutbox) == 1
    assert len(mailbox.messages) == 1
    msg = mailbox.messages[0]
    assert msg.message_id == first.message_id
    assert "C &lt;Ltd&gt;" in msg.html() and "C <Ltd>" in msg.text()  # HTML escaped, text not
    assert "http://links.test/a/" in msg.text()


async def test_smtp_4xx_is_retried_and_5xx_is_a_business_error(
    deps: Deps, mailbox: MailSink
) -> None:
    acts = email_activities(deps)
    mailbox.handler.fail_next.append("451 4.3.0 try again later")
    with pytest.raises(Exception) as transient:
        await acts.send_email(invitation_email("k-4xx"))
    assert not isinstance(transient.value, ApplicationError)  # retryable by Temporal
    assert (await acts.send_email(invitation_email("k-4xx"))).status == "sent"
    async with deps.sessions() as s:
        row = await s.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == "k-4xx"))
    assert row is not None and row.attempts == 2 and row.status == "sent"

    mailbox.handler.fail_next.append("550 5.1.1 mailbox unavailable")
    bounced = await acts.send_email(invitation_email("k-5xx"))
    assert bounced.status == "bounced" and bounced.undeliverable
    assert bounced.error is not None and bounced.error.startswith("550 5.1.1 mailbox unavailable")
    assert len(mailbox.messages) == 1


async def test_a_refused_recipient_bounces_once_and_is_not_tried_again(
    db_kind: str, deps: Deps, mailbox: MailSink
) -> None:
    acts = email_activities(deps)
    mailbox.handler.refuse["gone@x.test"] = "550 5.1.1 <gone@x.test>: mailbox unavailable"
    first = await acts.send_email(invitation_email("k-gone", to="gone@x.test"))
    again = await acts.send_email(invitation_email("k-gone", to="gone@x.test"))
    assert (first.status, again.status) == ("bounced", "bounced")
    assert first.error == again.error and first.error is not None
    assert first.error.startswith("550 5.1.1 <gone@x.test>: mailbox unavailable")
    async with deps.sessions() as s:
        row = await s.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == "k-gone"))
    assert row is not None and (row.status, row.attempts) == ("bounced", 1)
    assert row.last_error == first.error and row.sent_at is None
    assert mailbox.messages == []


async def test_header_injection_is_never_sent_and_recorded_as_invalid(
    deps: Deps, mailbox: MailSink
) -> None:
    acts = email_activities(deps)
    result = await acts.send_email(invitation_email("k-crlf", to="a@x.test\r\nBcc: evil@x.test"))
    assert result.status == "invalid" and result.error is not None
    assert "line break" in result.error
    async with deps.sessions() as s:
        row = await s.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == "k-crlf"))
    assert row is not None and (row.status, row.attempts) == ("invalid", 0)
    assert mailbox.messages == []


async def test_a_first_attempt_that_loses_the_key_goes_on_as_a_retry(
    db_kind: str, deps: Deps, mailbox: MailSink
) -> None:
    acts = email_activities(deps)
    req = invitation_email("k-race")
    # Another attempt wrote the row between this one's look-up and its insert.
    async with deps.sessions.begin() as s:
        assert not isinstance(await acts._record_first(s, req), type(None))
    async with deps.sessions.begin() as s:
        assert await acts._record_first(s, req) is None  # ON CONFLICT DO NOTHING: no id back
    result = await acts.send_email(req)
    assert result.status == "sent" and len(mailbox.messages) == 1
    assert mailbox.messages[0].message_id == result.message_id
    async with deps.sessions() as s:
        row = await s.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == "k-race"))
    assert row is not None and (row.status, row.attempts) == ("sent", 2)


async def test_the_first_attempt_records_and_sends_in_four_statements(
    deps: Deps, mailbox: MailSink
) -> None:
    # The outbox look-up, who reads the address (users, customers, partners in one UNION:
    # nobody here), INSERT ... RETURNING with this attempt counted, then the sent mark.
    statements: list[str] = []
    engine = deps.sessions.kw["bind"].sync_engine

    def record(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        if not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA")):
            statements.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    try:
        result = await email_activities(deps).send_email(invitation_email("k-six"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert result.status == "sent"
    assert len(statements) == 4, statements
    assert "UNION ALL" in statements[1].upper()
    assert "RETURNING" in statements[2].upper()
    assert statements[3].upper().startswith("UPDATE")


async def test_tasks_and_audit_are_idempotent(db_kind: str, sessions: Sessions) -> None:
    acts = TaskActivities(sessions)
    req = OpenTask(
        key="wf-1:decision",
        kind="invitation_decision",
        title="t",
        workflow_id="wf-1",
        assignee_role=Role.CUSTOMER,
        assignee_party="C-1",
        due_at=NOW,
        created_at=NOW,
    )
    a, b = await acts.open_task(req), await acts.open_task(req)
    assert a.id == b.id and await count(sessions, HumanTask) == 1
    close = CloseTask(
        key="wf-1:decision", status="done", decision="accepted", decided_by="C-1", decided_at=NOW
    )
    await acts.close_task(close)
    again = await acts.close_task(close.model_copy(update={"status": "expired"}))
    assert again.status == "done"  # a closed task stays as it was decided
    audit = AuditRecord(
        key="wf-1:accepted", workflow_id="wf-1", event="accepted", actor="C-1", occurred_at=NOW
    )
    await acts.record_audit(audit)
    await acts.record_audit(audit)
    assert await count(sessions, AuditEvent) == 1


async def test_create_binding_and_record_invitation_are_idempotent(
    db_kind: str, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-1")
    await add_partner(sessions, "P-2")
    await add_customer(sessions, "C-1")
    acts = InvitationActivities(sessions)
    req = binding_request()
    first, second = await acts.create_binding(req), await acts.create_binding(req)
    assert first.binding_id == second.binding_id and await count(sessions, Binding) == 1
    # The database refuses a second active binding for the customer, whatever the code does.
    other = await acts.create_binding(
        req.model_copy(update={"key": "inv-2/run:binding", "partner_id": "P-2"})
    )
    assert other.binding_id is None and other.refusals[0].rule == "bound_to_other_partner"

    rec = RecordInvitation(
        run_key="inv-1/run",
        workflow_id="inv-1",
        partner_id="P-1",
        customer_id="C-1",
        mode=AssociationMode.RESALE,
        channel=Channel.EMAIL,
        status=InvitationStatus.PENDING,
        sent_to="c@x.test",
        invited_by="u",
        created_at=NOW,
    )
    await acts.record_invitation(rec)
    await acts.record_invitation(rec.model_copy(update={"status": InvitationStatus.ACCEPTED}))
    async with sessions() as s:
        rows = (await s.scalars(select(Invitation))).all()
    assert [r.status for r in rows] == ["ACCEPTED"]


async def test_one_active_binding_per_customer_is_enforced_by_the_database(
    db_kind: str, sessions: Sessions
) -> None:
    from sqlalchemy.exc import IntegrityError

    await add_partner(sessions, "P-1")
    await add_partner(sessions, "P-2")
    await add_customer(sessions, "C-1")

    def row(key: str, partner: str, status: str = "active") -> Binding:
        return Binding(
            idempotency_key=key,
            partner_id=partner,
            customer_id="C-1",
            mode="resale",
            status=status,
            created_by="t",
            started_at=NOW,
        )

    async with sessions.begin() as s:
        s.add(row("a", "P-1", status="ended"))
        s.add(row("b", "P-1"))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as s:
            s.add(row("c", "P-2"))


async def test_create_binding_sends_the_acceptance_emails_once_the_binding_is_committed(
    db_kind: str, deps: Deps, mailbox: MailSink
) -> None:
    await add_partner(deps.sessions, "P-1")
    await add_partner(deps.sessions, "P-2")
    await add_customer(deps.sessions, "C-1")
    outbox = email_activities(deps)
    acts = InvitationActivities(deps.sessions, outbox=outbox)
    accepted = EmailRequest(
        key="inv-1/run:invitation_accepted_partner:p@x.test",
        to="p@x.test",
        template="invitation_accepted_partner",
        context={"partner_name": "P", "customer_name": "C", "customer_id": "C-1", "mode": "resale"},
    )
    req = binding_request(notify=[accepted])
    first = await acts.create_binding(req)
    assert first.binding_id is not None
    assert len(mailbox.to("p@x.test")) == len(mailbox.messages) == 1  # before the workflow's send
    async with deps.sessions() as s:
        row = await s.scalar(select(EmailOutbox).where(EmailOutbox.idempotency_key == accepted.key))
    assert row is not None and row.status == "sent" and f"{first.binding_id}" in row.body_text
    # A retry of the activity, then the workflow's send of the same key: nothing more is sent.
    assert (await acts.create_binding(req)).binding_id == first.binding_id
    assert (await outbox.send_email(accepted)).status == "already_sent"
    assert len(mailbox.messages) == 1
    # A refusal (the customer is bound elsewhere) sends nothing.
    other = await acts.create_binding(
        req.model_copy(update={"key": "inv-2/run:binding", "partner_id": "P-2"})
    )
    assert other.refusals and len(mailbox.messages) == 1
