"""The invitation workflow on the time-skipping server, with real activities, DB and SMTP."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invitations import Channel, EmailChanged, InvitationRequest, InvitationStatus
from domain.parties import Actor, AssociationMode, Decision, Role
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import Binding, Customer, EmailOutbox, HumanTask, Invitation
from starter.services.context import AppContext
from starter.services.errors import RefusedError
from starter.services.invitations import decide
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually, finished, save_history
from workflows.invitation import InvitationWorkflow

Sessions = async_sessionmaker[AsyncSession]
S = InvitationStatus


async def start(
    client: Client,
    worker: Worker,
    actor: Actor,
    partner: str = "P-1",
    customer: str = "C-1",
    **kw: Any,
) -> WorkflowHandle[InvitationWorkflow, Any]:
    return await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id=partner, customer_id=customer, requested_by=actor, **kw),
        id=f"invitation-{partner}-{customer}-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )


async def wait_status(handle: WorkflowHandle[Any, Any], status: InvitationStatus) -> None:
    async def check() -> None:
        v = await handle.query(InvitationWorkflow.status)
        assert v.status == status, v.status

    await eventually(check)


@pytest.fixture
async def staff(sessions: Sessions) -> Actor:
    await add_partner(sessions, "P-1")
    return await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")


async def test_accept_binds_and_emails_both_sides(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
) -> None:
    await add_customer(sessions, "C-1")
    h = await start(client, worker, staff)
    await wait_status(h, S.PENDING)
    v = await h.execute_update(
        InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"), nonce="n-1"), id="n-1"
    )
    assert v.status == S.ACCEPTED and v.binding_id is not None
    result = await finished(env, h)
    assert result.status == S.ACCEPTED
    async with sessions() as s:
        bindings = (await s.scalars(select(Binding))).all()
        task = await s.scalar(select(HumanTask))
        inv = await s.scalar(select(Invitation))
    assert [
        (b.partner_id, b.customer_id, b.mode, b.status, b.awaiting_budget) for b in bindings
    ] == [("P-1", "C-1", "resale", "active", True)]
    assert task is not None and task.status == "done" and task.decided_by == "C-1"
    assert inv is not None and inv.status == "ACCEPTED"
    customer_mail = [m.subject for m in mailbox.to("c-1@customer.test")]
    partner_mail = [m.subject for m in mailbox.to("p-1@partner.test")]
    assert any("invites you" in s for s in customer_mail)
    assert any("now associated" in s for s in customer_mail)
    assert any("accepted your invitation" in s for s in partner_mail)
    await save_history(h, "invitation-accepted_together")


async def test_repeated_decision_returns_first_result_and_changes_nothing(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
) -> None:
    await add_customer(sessions, "C-1")
    h = await start(client, worker, staff)
    await wait_status(h, S.PENDING)
    d = Decision(actor=customer_actor("C-1"), nonce="same")
    first, second = await asyncio.gather(
        h.execute_update(InvitationWorkflow.accept, d, id="same"),
        h.execute_update(InvitationWorkflow.accept, d, id="other-click"),
    )
    assert first.status == second.status == S.ACCEPTED
    assert first.binding_id == second.binding_id
    await finished(env, h)
    async with sessions() as s:
        assert len((await s.scalars(select(Binding))).all()) == 1


async def test_wrong_customer_is_refused_by_the_validator(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, staff: Actor
) -> None:
    await add_customer(sessions, "C-1")
    await add_customer(sessions, "C-2")
    h = await start(client, worker, staff)
    await wait_status(h, S.PENDING)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-2")))
    assert "only customer C-1 may accept" in str(err.value.cause)
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(InvitationWorkflow.accept, Decision(actor=staff))
    assert (await h.query(InvitationWorkflow.status)).status == S.PENDING
    await h.execute_update(InvitationWorkflow.cancel, Decision(actor=staff))
    await finished(env, h)


@pytest.mark.parametrize(
    ("facts", "mode", "rule"),
    [
        ({"has_credit_account": True}, AssociationMode.RESALE, "credit_account_no_resale"),
        ({"is_partner_or_applicant": True}, AssociationMode.CONSULTING, "customer_is_partner"),
        ({"has_special_contract": True}, AssociationMode.CONSULTING, "special_contract"),
        ({"reported_by_direct_sales": True}, AssociationMode.RESALE, "reported_by_direct_sales"),
        ({"in_reward_programme": True}, AssociationMode.RESALE, "in_reward_programme"),
        ({"enterprise_role": "master"}, AssociationMode.RESALE, "enterprise_account"),
        ({"enterprise_role": "member"}, AssociationMode.RESALE, "enterprise_account"),
        ({"has_recharge_bonus": True}, AssociationMode.RESALE, "recharge_bonus"),
        ({"has_stored_value_card": True}, AssociationMode.RESALE, "stored_value_card"),
        ({"has_reserved_instances": True}, AssociationMode.RESALE, "reserved_instances"),
    ],
)
async def test_each_eligibility_rule_refuses_at_creation_and_records_nothing(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
    facts: dict[str, Any],
    mode: AssociationMode,
    rule: str,
) -> None:
    await add_customer(sessions, "C-1", **facts)
    h = await start(client, worker, staff, mode=mode)
    v = await finished(env, h)
    assert v.status == S.REFUSED
    assert rule in [r.rule for r in v.refusals]
    async with sessions() as s:
        assert (await s.scalars(select(Invitation))).all() == []
        assert (await s.scalars(select(HumanTask))).all() == []
    assert mailbox.messages == []


async def test_resale_only_blocks_do_not_apply_in_consulting_mode(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, staff: Actor
) -> None:
    await add_customer(sessions, "C-1", has_credit_account=True, has_recharge_bonus=True)
    h = await start(client, worker, staff, mode=AssociationMode.CONSULTING)
    await wait_status(h, S.PENDING)
    v = await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
    assert v.status == S.ACCEPTED
    await finished(env, h)


async def test_consulting_mode_needs_the_partners_permission(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-9", consulting_permission=False)
    admin = await add_user(sessions, "u-9", Role.PARTNER_ADMIN, partner_id="P-9")
    await add_customer(sessions, "C-1")
    v = await finished(
        env, await start(client, worker, admin, "P-9", mode=AssociationMode.CONSULTING)
    )
    assert [r.rule for r in v.refusals] == ["consulting_not_permitted"]


@pytest.mark.parametrize(
    ("partner_kw", "role", "rule"),
    [
        ({"status": "SUSPENDED"}, Role.PARTNER_STAFF, "partner_not_active"),
        ({"type": "distributor"}, Role.PARTNER_ADMIN, "partner_type_has_no_sub_customers"),
        ({}, Role.FINANCE, "not_partner_user"),
    ],
)
async def test_who_may_invite_is_checked_in_the_workflow(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    partner_kw: dict[str, Any],
    role: Role,
    rule: str,
) -> None:
    await add_partner(sessions, "P-5", **partner_kw)
    party = "P-5" if role in (Role.PARTNER_STAFF, Role.PARTNER_ADMIN) else None
    actor = await add_user(sessions, "u-5", role, partner_id=party)
    await add_customer(sessions, "C-1")
    v = await finished(env, await start(client, worker, actor, "P-5"))
    assert v.status == S.REFUSED and v.refusals[0].rule == rule


async def test_ops_may_invite_and_bound_elsewhere_is_refused(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, staff: Actor
) -> None:
    ops = await add_user(sessions, "u-ops", Role.OPS)
    await add_partner(sessions, "P-2")
    await add_customer(sessions, "C-1")
    h = await start(client, worker, ops, "P-2")
    await wait_status(h, S.PENDING)
    await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
    await finished(env, h)
    v = await finished(env, await start(client, worker, staff, "P-1"))
    assert [r.rule for r in v.refusals] == ["bound_to_other_partner"]
    again = await finished(env, await start(client, worker, ops, "P-2"))
    assert again.status == S.ALREADY_BOUND


async def test_reminder_then_expiry_then_resend(
    env: WorkflowEnvironment,
    settings: Settings,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
) -> None:
    await add_customer(sessions, "C-1")
    h = await start(client, worker, staff, validity=timedelta(days=7))
    await wait_status(h, S.PENDING)
    await env.sleep(timedelta(days=6, hours=1))

    async def reminded() -> None:
        assert any("Reminder" in m.subject for m in mailbox.to("c-1@customer.test"))

    await eventually(reminded)
    v = await h.result()  # awaiting the result skips the remaining day
    assert v.status == S.EXPIRED
    assert any("expired" in m.subject for m in mailbox.to("p-1@partner.test"))
    # A decision after expiry gets "expired" (the CLI and the link server report it so).
    ctx = AppContext(settings)
    ctx._client = client
    with pytest.raises(RefusedError) as err:
        await decide(ctx, h.id, "accept", customer_actor("C-1"), None)
    await ctx.close()
    assert err.value.rule == "invitation_expired"
    assert "expired on" in err.value.message and "send a new one" in err.value.message
    async with sessions() as s:
        task = await s.scalar(select(HumanTask))
    assert task is not None and task.status == "expired"
    await save_history(h, "invitation-expired_together")

    # Resend: a new run with the same business id.
    h2 = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
        id=h.id,
        task_queue=worker.task_queue,
    )
    await wait_status(h2, S.PENDING)
    v2 = await h2.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
    assert v2.status == S.ACCEPTED
    await finished(env, h2)
    async with sessions() as s:
        runs = (await s.scalars(select(Invitation).order_by(Invitation.id))).all()
    assert [r.status for r in runs] == ["EXPIRED", "ACCEPTED"]


async def test_offline_link_never_expires(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
) -> None:
    await add_customer(sessions, "C-1")
    h = await start(client, worker, staff, channel=Channel.OFFLINE)
    await wait_status(h, S.PENDING)
    assert (await h.query(InvitationWorkflow.status)).expires_at is None
    await env.sleep(timedelta(days=60))
    assert (await h.query(InvitationWorkflow.status)).status == S.PENDING
    # the link goes to the inviting user to hand over, not to the customer
    assert mailbox.to("c-1@customer.test") == []
    assert any("Offline invitation" in m.subject for m in mailbox.to(staff.email))
    await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
    assert (await finished(env, h)).status == S.ACCEPTED


async def test_decline_and_cancel(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
) -> None:
    await add_customer(sessions, "C-1")
    await add_customer(sessions, "C-2")
    h = await start(client, worker, staff)
    await wait_status(h, S.PENDING)
    v = await h.execute_update(
        InvitationWorkflow.decline, Decision(actor=customer_actor("C-1"), comment="not now")
    )
    assert v.status == S.DECLINED
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
    assert "already declined" in str(err.value.cause)
    assert (await finished(env, h)).status == S.DECLINED
    assert any("declined" in m.subject for m in mailbox.to("p-1@partner.test"))
    await save_history(h, "invitation-declined_together")

    h2 = await start(client, worker, staff, customer="C-2")
    await wait_status(h2, S.PENDING)
    other_partner_user = Actor(user_id="x", role=Role.PARTNER_ADMIN, partner_id="P-other")
    with pytest.raises(WorkflowUpdateFailedError):
        await h2.execute_update(InvitationWorkflow.cancel, Decision(actor=other_partner_user))
    await h2.execute_update(InvitationWorkflow.cancel, Decision(actor=staff))
    assert (await finished(env, h2)).status == S.CANCELLED
    assert any("withdrew" in m.text() for m in mailbox.to("c-2@customer.test"))


async def test_accept_rechecks_when_customer_was_bound_elsewhere_meanwhile(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
) -> None:
    await add_customer(sessions, "C-1")
    await add_partner(sessions, "P-2")
    h = await start(client, worker, staff)
    await wait_status(h, S.PENDING)
    # Meanwhile the customer got a credit account (billing data changed).
    async with sessions.begin() as s:
        await s.execute(
            update(Customer).where(Customer.id == "C-1").values(has_credit_account=True)
        )
    v = await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
    assert v.status == S.REFUSED
    assert "credit account" in (v.reason or "")
    await finished(env, h)
    async with sessions() as s:
        assert (await s.scalars(select(Binding))).all() == []
    assert any("could not be made" in m.subject for m in mailbox.to("p-1@partner.test"))


async def test_two_partners_racing_for_one_customer_one_wins(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, staff: Actor
) -> None:
    await add_customer(sessions, "C-1")
    await add_partner(sessions, "P-2")
    staff2 = await add_user(sessions, "u-staff2", Role.PARTNER_STAFF, partner_id="P-2")
    h1 = await start(client, worker, staff, "P-1")
    h2 = await start(client, worker, staff2, "P-2")
    await wait_status(h1, S.PENDING)
    await wait_status(h2, S.PENDING)
    me = customer_actor("C-1")
    v1, v2 = await asyncio.gather(
        h1.execute_update(InvitationWorkflow.accept, Decision(actor=me)),
        h2.execute_update(InvitationWorkflow.accept, Decision(actor=me)),
    )
    assert sorted([v1.status, v2.status]) == sorted([S.ACCEPTED, S.REFUSED])
    loser = v1 if v1.status == S.REFUSED else v2
    assert loser.refusals[0].rule == "bound_to_other_partner"
    await finished(env, h1)
    await finished(env, h2)
    async with sessions() as s:
        active = (await s.scalars(select(Binding).where(Binding.status == "active"))).all()
    assert len(active) == 1


async def test_email_change_resends_the_pending_invitation(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    staff: Actor,
) -> None:
    await add_customer(sessions, "C-1")
    h = await start(client, worker, staff)
    await wait_status(h, S.PENDING)
    await h.signal(InvitationWorkflow.customer_email_changed, EmailChanged(new_email="new@c1.test"))

    async def resent() -> None:
        assert any("invites you" in m.subject for m in mailbox.to("new@c1.test"))
        assert (await h.query(InvitationWorkflow.status)).sent_to == "new@c1.test"

    await eventually(resent)
    await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
    await finished(env, h)
    assert any("now associated" in m.subject for m in mailbox.to("new@c1.test"))
    async with sessions() as s:
        keys = (await s.scalars(select(EmailOutbox.idempotency_key))).all()
    assert len(keys) == len(set(keys))
