"""The renewal workflow with the real activities, the SMTP sink and a skipping clock."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.parties import AssociationMode, Decision
from domain.renewals import (
    Billing,
    RenewalFeedback,
    RenewalOutcome,
    RenewalRequest,
    RenewalStatus,
    RenewalTimings,
    SubscriptionChanged,
    renewal_workflow_id,
)
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent, HumanTask, RenewalTask
from tests.harness import eventually, finished, save_history
from tests.workflows.test_renewal_fixtures import (
    Sessions,
    add_subscription,
    days,
    extend_subscription,
    server_now,
    setup_party,
    start_renewal,
    subjects,
)
from workflows.renewal import RenewalWorkflow

PARTNER_MAIL = "p-1@partner.test"


def _cause(exc: BaseException) -> str:
    return str(getattr(exc, "cause", None) or exc)


async def _tasks(sessions: async_sessionmaker[AsyncSession], wf: str) -> dict[str, HumanTask]:
    async with sessions() as s:
        rows = (await s.scalars(select(HumanTask).where(HumanTask.workflow_id == wf))).all()
    return {r.kind: r for r in rows}


async def test_claim_feedback_and_import_completes_as_renewed(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    sub = await add_subscription(sessions, "O-100", "C-1", now + days(20))
    h = await start_renewal(client, worker.task_queue, sub)
    assert (await h.query(RenewalWorkflow.status)).status == RenewalStatus.OPEN

    v = await h.execute_update(RenewalWorkflow.claim, Decision(actor=party.staff), id="c1")
    assert v.status == RenewalStatus.CLAIMED and v.claimed_by == party.staff.user_id
    again = await h.execute_update(RenewalWorkflow.claim, Decision(actor=party.staff), id="c2")
    assert again.claimed_at == v.claimed_at  # a repeated claim changes nothing
    with pytest.raises(WorkflowUpdateFailedError) as other:
        await h.execute_update(RenewalWorkflow.claim, Decision(actor=party.staff2), id="c3")
    assert "already claimed by p-1-staff" in _cause(other.value)
    with pytest.raises(WorkflowUpdateFailedError) as not_claimer:
        await h.execute_update(
            RenewalWorkflow.feedback,
            RenewalFeedback(actor=party.staff2, outcome=RenewalOutcome.WILL_RENEW),
            id="f0",
        )
    assert "claimed by p-1-staff" in _cause(not_claimer.value)
    with pytest.raises(WorkflowUpdateFailedError) as manager:
        await h.execute_update(RenewalWorkflow.claim, Decision(actor=party.manager), id="c4")
    assert "only partner_staff or partner_admin" in _cause(manager.value)

    v = await h.execute_update(
        RenewalWorkflow.feedback,
        RenewalFeedback(actor=party.staff, outcome=RenewalOutcome.WILL_RENEW),
        id="f1",
    )
    assert v.status == RenewalStatus.WILL_RENEW and v.outcome == RenewalOutcome.WILL_RENEW

    # The billing import moves the expiry a year later and nudges the workflow.
    new_expiry = sub.expires_at + days(365)
    await extend_subscription(sessions, "O-100", new_expiry)
    await h.signal(
        RenewalWorkflow.subscription_changed,
        SubscriptionChanged(order_id="O-100", expires_at=new_expiry, auto_renew=False),
    )
    result = await finished(env, h)
    assert result.status == RenewalStatus.RENEWED
    assert result.renewed_until == new_expiry
    await save_history(h, "renewal_workflow-renewed-by-import")

    tasks = await _tasks(sessions, h.id)
    assert tasks["renewal_task"].status == "done"
    assert tasks["renewal_task"].decision == "renewed"
    assert tasks["renewal_task"].decided_by == party.staff.user_id
    assert "renewal_escalation" not in tasks
    async with sessions() as s:
        row = await s.scalar(select(RenewalTask).where(RenewalTask.workflow_id == h.id))
        events = (
            await s.scalars(select(AuditEvent.event).where(AuditEvent.workflow_id == h.id))
        ).all()
    assert row is not None and row.status == "RENEWED" and row.claimed_by == party.staff.user_id
    assert row.outcome == "will_renew" and row.renewed_until == new_expiry
    assert {"renewal_task_created", "claimed", "feedback", "renewed"} <= set(events)
    got = subjects(mailbox, PARTNER_MAIL)
    assert any(s.startswith("Big-order renewal task: order O-100") for s in got), got
    assert any(s.startswith("Renewed: order O-100") for s in got), got


async def test_unhandled_task_is_reminded_escalated_and_lost(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    await setup_party(sessions, now)
    sub = await add_subscription(sessions, "O-200", "C-1", now + days(16))
    h = await start_renewal(client, worker.task_queue, sub)
    result = await h.result()  # the clock skips through 16 days of daily checks

    assert result.status == RenewalStatus.LOST
    assert result.escalated
    assert result.reminders_sent == [15, 7, 1]
    await save_history(h, "renewal_workflow-lost")
    partner_subjects = subjects(mailbox, PARTNER_MAIL)
    for n in (15, 7, 1):
        assert any(f"expires in {n} day(s)" in s for s in partner_subjects), partner_subjects
    assert any(s.startswith("Lost: order O-200") for s in partner_subjects)
    manager_subjects = subjects(mailbox, "eco-1@users.test")
    assert any(
        s.startswith("Escalated: unclaimed renewal of order O-200") for s in manager_subjects
    )
    assert any(s.startswith("Lost: order O-200") for s in manager_subjects)
    tasks = await _tasks(sessions, h.id)
    assert tasks["renewal_task"].status == "expired"
    assert tasks["renewal_escalation"].status == "expired"
    assert tasks["renewal_escalation"].assignee_role == "ecosystem_manager"


async def test_claimed_task_is_not_escalated_and_monthly_reminders_skip_the_past(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    # A monthly order found 7 days ahead: the 15- and 7-day points are not ahead any more.
    sub = await add_subscription(sessions, "O-300", "C-1", now + days(6.5), billing=Billing.MONTHLY)
    h = await start_renewal(client, worker.task_queue, sub)
    await h.execute_update(RenewalWorkflow.claim, Decision(actor=party.staff), id="c1")
    result = await h.result()  # the clock skips to the expiry
    assert result.status == RenewalStatus.LOST
    assert result.reminders_sent == [1]
    assert not result.escalated
    manager = subjects(mailbox, "eco-1@users.test")
    assert len(manager) == 1 and manager[0].startswith("Lost: order O-300"), manager
    # the claimer hears about its task too
    assert any("expires in 1 day(s)" in s for s in subjects(mailbox, "p-1-staff@users.test"))


async def test_declined_needs_a_reason(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    sub = await add_subscription(sessions, "O-400", "C-1", now + days(25))
    h = await start_renewal(client, worker.task_queue, sub)
    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await h.execute_update(
            RenewalWorkflow.feedback,
            RenewalFeedback(
                actor=party.admin, outcome=RenewalOutcome.CUSTOMER_DECLINES, reason=" "
            ),
            id="f1",
        )
    assert "needs a reason" in _cause(no_reason.value)
    assert (await h.query(RenewalWorkflow.status)).status == RenewalStatus.OPEN

    v = await h.execute_update(
        RenewalWorkflow.feedback,
        RenewalFeedback(
            actor=party.admin,
            outcome=RenewalOutcome.CUSTOMER_DECLINES,
            reason="moving the workload to its own data centre",
        ),
        id="f2",
    )
    assert v.status == RenewalStatus.DECLINED
    assert v.claimed_by == party.admin.user_id  # feedback without a claim claims it
    result = await finished(env, h)
    assert result.status == RenewalStatus.DECLINED
    assert result.reason == "moving the workload to its own data centre"
    with pytest.raises(Exception):  # noqa: B017  the workflow has finished
        await h.execute_update(RenewalWorkflow.claim, Decision(actor=party.staff), id="c9")
    tasks = await _tasks(sessions, h.id)
    assert tasks["renewal_task"].status == "done"
    assert tasks["renewal_task"].decision == "declined"
    assert tasks["renewal_task"].decided_by == party.admin.user_id


async def test_billing_check_finds_renewal_without_a_signal(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    await setup_party(sessions, now)
    sub = await add_subscription(sessions, "O-500", "C-1", now + days(10))
    h = await start_renewal(
        client, worker.task_queue, sub, timings=RenewalTimings(reminders_before=[])
    )
    await extend_subscription(sessions, "O-500", sub.expires_at + days(30))
    result = await h.result()  # the next daily check sees it
    assert result.status == RenewalStatus.RENEWED
    assert result.renewed_until == sub.expires_at + days(30)
    assert not result.escalated  # renewed on day 1, long before the escalation point


async def test_ops_withdraws_and_binding_gone_cancels(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    from domain.parties import Role
    from tests.factories import add_user

    now = await server_now(env)
    party = await setup_party(sessions, now, mode=AssociationMode.CONSULTING)
    ops = await add_user(sessions, "ops-1", Role.OPS)
    sub = await add_subscription(sessions, "O-600", "C-1", now + days(20))
    h = await start_renewal(client, worker.task_queue, sub, mode=AssociationMode.CONSULTING)
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(RenewalWorkflow.cancel, Decision(actor=party.admin), id="x1")
    v = await h.execute_update(
        RenewalWorkflow.cancel, Decision(actor=ops, comment="order migrated to a contract"), id="x2"
    )
    assert v.status == RenewalStatus.CANCELLED
    assert (await finished(env, h)).reason == "order migrated to a contract"
    assert any(s.startswith("Renewal task withdrawn") for s in subjects(mailbox, PARTNER_MAIL))

    # A task whose customer left the partner before it started is withdrawn at once.
    from tests.factories import add_partner

    await add_partner(sessions, "P-OLD")
    other = await add_subscription(sessions, "O-601", "C-1", now + days(20))
    h2 = await start_renewal(client, worker.task_queue, other, partner_id="P-OLD")
    gone = await finished(env, h2)
    assert gone.status == RenewalStatus.CANCELLED
    assert "no longer bound to partner P-OLD" in (gone.reason or "")
    await eventually(_no_task_for(sessions, h2.id))


def _no_task_for(sessions: async_sessionmaker[AsyncSession], wf: str):  # type: ignore[no-untyped-def]
    async def check() -> None:
        assert await _tasks(sessions, wf) == {}

    return check


async def test_checked_answers_once_the_task_is_open(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions
) -> None:
    """The read-only ``checked`` update (what a starter sends with the start, update-with-start,
    instead of polling the status query) answers once the task is past STARTING."""
    now = await server_now(env)
    await setup_party(sessions, now)
    sub = await add_subscription(sessions, "O-150", "C-1", now + days(20))
    h = await client.start_workflow(
        RenewalWorkflow.run,
        RenewalRequest(subscription=sub, partner_id="P-1", mode=AssociationMode.RESALE),
        id=renewal_workflow_id(sub.order_id, sub.expires_at),
        task_queue=worker.task_queue,
    )
    assert (await h.execute_update(RenewalWorkflow.checked)).status == RenewalStatus.OPEN
    assert (await h.query(RenewalWorkflow.status)).status == RenewalStatus.OPEN
    await h.terminate("test done")
