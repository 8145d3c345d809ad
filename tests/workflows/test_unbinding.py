"""The unbinding workflow on the time-skipping server, with real activities, DB and SMTP:
each initiator, approve, reject, lapse, switching mode, recovery and vouchers, re-invite."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Actor, AssociationMode, Decision, Role
from domain.unbinding import ChangeKind, ChangeRequest, Initiator, RequestStatus
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent, Binding, HumanTask
from infra.tables.unbinding import (
    BalanceRecovery,
    BindingChangeRequest,
    CustomerVoucher,
    VoucherDisposition,
)
from tests.factories import add_binding, add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually, finished, save_history
from workflows.invitation import InvitationWorkflow
from workflows.unbinding import UnbindingWorkflow

Sessions = async_sessionmaker[AsyncSession]
S = RequestStatus
PARTNER_MAIL = "p-1@partner.test"
CUSTOMER_MAIL = "c-1@customer.test"


@dataclass
class Parties:
    """A partner with an admin and a staff user, a customer, and their binding."""

    admin: Actor
    staff: Actor
    customer: Actor
    binding_id: int


async def add_parties(
    sessions: Sessions,
    mode: AssociationMode = AssociationMode.RESALE,
    allocated: str = "0",
    **customer_facts: Any,
) -> Parties:
    """P-1 (admin pa-1, staff ps-1), customer C-1 with the given facts, bound in ``mode``."""
    await add_partner(sessions, "P-1")
    admin = await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    staff = await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1", **customer_facts)
    binding_id = await add_binding(sessions, mode=mode, allocated=allocated)
    return Parties(admin, staff, customer_actor("C-1"), binding_id)


def change(
    binding_id: int, actor: Actor, kind: ChangeKind = ChangeKind.UNBIND, **kw: Any
) -> ChangeRequest:
    return ChangeRequest(binding_id=binding_id, kind=kind, requested_by=actor, **kw)


async def start(
    client: Client, worker: Worker, req: ChangeRequest, wf_id: str | None = None
) -> WorkflowHandle[UnbindingWorkflow, Any]:
    return await client.start_workflow(
        UnbindingWorkflow.run,
        req,
        id=wf_id or f"binding-change-{req.binding_id}-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )


async def wait_status(handle: WorkflowHandle[Any, Any], status: RequestStatus) -> None:
    async def check() -> None:
        v = await handle.query(UnbindingWorkflow.status)
        assert v.status == status, v.status

    await eventually(check)


async def rows(sessions: Sessions, table: type) -> list[Any]:
    async with sessions() as s:
        return list((await s.scalars(select(table))).all())


def subjects(mailbox: MailSink, to: str) -> list[str]:
    # A long subject is folded on the wire; unfolding may leave a leading space.
    return [m.subject.strip() for m in mailbox.to(to)]


@pytest.fixture
async def parties(sessions: Sessions) -> Parties:
    return await add_parties(sessions, allocated="500.00")


async def add_vouchers(sessions: Sessions) -> None:
    """One of each: the partner's voucher and coupon, the vendor's voucher and coupon."""
    items = [
        ("V-P", "voucher", "partner", "P-1", "100.00"),
        ("K-P", "cash_coupon", "partner", "P-1", "20.00"),
        ("V-V", "voucher", "vendor", None, "50.00"),
        ("K-V", "cash_coupon", "vendor", None, "5.00"),
    ]
    async with sessions.begin() as s:
        for vid, kind, issuer, pid, amount in items:
            s.add(
                CustomerVoucher(
                    id=vid,
                    customer_id="C-1",
                    kind=kind,
                    issuer=issuer,
                    issuer_partner_id=pid,
                    balance=Decimal(amount),
                    status="held",
                )
            )


# ----- partner-initiated ----------------------------------------------------------------------


async def test_partner_unbind_approved_by_the_customer_ends_the_binding(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    parties: Parties,
) -> None:
    await add_vouchers(sessions)
    h = await start(client, worker, change(parties.binding_id, parties.admin, reason="moved on"))
    await wait_status(h, S.PENDING)
    async with sessions() as s:
        task = await s.scalar(select(HumanTask))
    assert task is not None and (task.assignee_role, task.assignee_party) == ("customer", "C-1")
    assert subjects(mailbox, CUSTOMER_MAIL) == [
        "Approval needed: P-1 Tech Co., Ltd. requests unbinding of your account"
    ]
    assert "http://links.test/a/" in mailbox.to(CUSTOMER_MAIL)[0].text()
    assert any("sent for approval" in s for s in subjects(mailbox, PARTNER_MAIL))

    v = await h.execute_update(
        UnbindingWorkflow.approve, Decision(actor=parties.customer, comment="ok"), id="n-1"
    )
    assert v.status == S.APPROVED and v.decided_by == "C-1"
    assert v.recovered_amount == Decimal("500.00")
    assert {d.voucher_id: d.action.value for d in v.dispositions} == {
        "V-P": "recalled",
        "K-P": "returned_to_issuer",
        "V-V": "kept",
        "K-V": "returned_to_issuer",
    }
    result = await finished(env, h)
    assert result.status == S.APPROVED

    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.ended_by, binding.allocated_balance) == (
        "ended",
        "C-1",
        Decimal("0.00"),
    )
    assert binding.ended_at is not None and "moved on" in (binding.ended_reason or "")
    (req,) = await rows(sessions, BindingChangeRequest)
    assert (req.status, req.initiator, req.decided_by, req.previous_mode) == (
        "APPROVED",
        "partner",
        "C-1",
        "resale",
    )
    assert req.decided_at == binding.ended_at
    (recovery,) = await rows(sessions, BalanceRecovery)
    assert recovery.amount == Decimal("500.00") and recovery.request_id == req.id
    vouchers = {v.id: v.status for v in await rows(sessions, CustomerVoucher)}
    assert vouchers == {"V-P": "recalled", "K-P": "returned", "V-V": "held", "K-V": "returned"}
    assert len(await rows(sessions, VoucherDisposition)) == 4
    (task,) = await rows(sessions, HumanTask)
    assert (task.status, task.decision, task.decided_by) == ("done", "approved", "C-1")
    events = [e.event for e in await rows(sessions, AuditEvent)]
    assert events == ["requested", "balance_recovered", "vouchers_disposed", "approved"]
    approved_customer = [m for m in mailbox.to(CUSTOMER_MAIL) if "Association ended" in m.subject]
    approved_partner = [m for m in mailbox.to(PARTNER_MAIL) if "Association ended" in m.subject]
    assert len(approved_customer) == len(approved_partner) == 1
    assert "any partner may invite you again" in approved_customer[0].text()
    assert "¥500.00" in approved_partner[0].text()
    await save_history(h, "unbinding_workflow-partner-approved")


async def test_customer_rejects_and_the_binding_stays(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    parties: Parties,
) -> None:
    h = await start(client, worker, change(parties.binding_id, parties.admin))
    await wait_status(h, S.PENDING)
    v = await h.execute_update(
        UnbindingWorkflow.reject,
        Decision(actor=parties.customer, comment="we stay with you"),
        id="r-1",
    )
    assert v.status == S.REJECTED and v.comment == "we stay with you"
    await finished(env, h)
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.allocated_balance) == ("active", Decimal("500.00"))
    (req,) = await rows(sessions, BindingChangeRequest)
    assert (req.status, req.decided_by, req.decision_comment) == (
        "REJECTED",
        "C-1",
        "we stay with you",
    )
    assert await rows(sessions, BalanceRecovery) == []
    for to in (PARTNER_MAIL, CUSTOMER_MAIL):
        assert any("rejected" in s for s in subjects(mailbox, to)), subjects(mailbox, to)
    await save_history(h, "unbinding_workflow-partner-rejected")


async def test_unanswered_partner_request_lapses_after_a_reminder(
    client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink, parties: Parties
) -> None:
    h = await start(client, worker, change(parties.binding_id, parties.admin))
    result = await h.result()  # the time-skipping server jumps the 7 days
    assert result.status == S.LAPSED and result.decided_by is None
    (binding,) = await rows(sessions, Binding)
    assert binding.status == "active"
    (req,) = await rows(sessions, BindingChangeRequest)
    assert req.status == "LAPSED"
    (task,) = await rows(sessions, HumanTask)
    assert task.status == "expired"
    customer = subjects(mailbox, CUSTOMER_MAIL)
    assert any(s.startswith("Reminder:") for s in customer), customer
    assert any("lapsed" in s for s in customer)
    assert any("lapsed" in s for s in subjects(mailbox, PARTNER_MAIL))
    events = [e.event for e in await rows(sessions, AuditEvent)]
    assert events == ["requested", "reminder_sent", "lapsed"]
    await save_history(h, "unbinding_workflow-partner-lapsed")


async def test_switch_from_resale_to_consulting_keeps_the_previous_mode(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    parties: Parties,
) -> None:
    req = change(
        parties.binding_id,
        parties.admin,
        ChangeKind.SWITCH_MODE,
        to_mode=AssociationMode.CONSULTING,
    )
    h = await start(client, worker, req)
    await wait_status(h, S.PENDING)
    v = await h.execute_update(UnbindingWorkflow.approve, Decision(actor=parties.customer))
    assert v.status == S.APPROVED and v.recovered_amount == Decimal("500.00")
    assert v.dispositions == []
    await finished(env, h)
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.mode, binding.awaiting_budget) == (
        "active",
        "consulting",
        False,
    )
    (row,) = await rows(sessions, BindingChangeRequest)
    assert (row.kind, row.previous_mode, row.new_mode, row.status) == (
        "switch_mode",
        "resale",
        "consulting",
        "APPROVED",
    )
    assert any("switched to consulting" in s for s in subjects(mailbox, PARTNER_MAIL))
    await save_history(h, "unbinding_workflow-switch-approved")


async def test_switch_to_resale_freezes_until_the_budget_is_set(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions
) -> None:
    parties = await add_parties(sessions, mode=AssociationMode.CONSULTING)
    req = change(
        parties.binding_id, parties.admin, ChangeKind.SWITCH_MODE, to_mode=AssociationMode.RESALE
    )
    h = await start(client, worker, req)
    await wait_status(h, S.PENDING)
    v = await h.execute_update(UnbindingWorkflow.approve, Decision(actor=parties.customer))
    assert v.status == S.APPROVED and v.recovered_amount is None
    await finished(env, h)
    (binding,) = await rows(sessions, Binding)
    assert (binding.mode, binding.awaiting_budget) == ("resale", True)


async def test_approval_is_rechecked_and_refused_when_a_precheck_now_fails(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    parties: Parties,
) -> None:
    from infra.tables import Customer

    h = await start(client, worker, change(parties.binding_id, parties.admin))
    await wait_status(h, S.PENDING)
    async with sessions.begin() as s:
        c = await s.get(Customer, "C-1")
        assert c is not None
        c.in_arrears = True
    v = await h.execute_update(UnbindingWorkflow.approve, Decision(actor=parties.customer))
    assert v.status == S.REFUSED and [r.rule for r in v.refusals] == ["arrears"]
    await finished(env, h)
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.allocated_balance) == ("active", Decimal("500.00"))
    assert any("could not be completed" in s for s in subjects(mailbox, PARTNER_MAIL))


async def test_concurrent_approve_and_reject_one_wins_and_nothing_is_done_twice(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, parties: Parties
) -> None:
    h = await start(client, worker, change(parties.binding_id, parties.admin))
    await wait_status(h, S.PENDING)
    d = Decision(actor=parties.customer)
    outcomes = await asyncio.gather(
        h.execute_update(UnbindingWorkflow.approve, d, id="click-1"),
        h.execute_update(UnbindingWorkflow.approve, d, id="click-2"),
        h.execute_update(UnbindingWorkflow.reject, d, id="click-3"),
        return_exceptions=True,
    )
    views = [o for o in outcomes if not isinstance(o, BaseException)]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    final = await finished(env, h)
    assert all(v.status == final.status for v in views)
    assert all(isinstance(e, WorkflowUpdateFailedError) for e in errors)
    # the losing decision kind was refused by the validator
    assert len(errors) == (1 if final.status == S.APPROVED else 2)
    assert len(await rows(sessions, BalanceRecovery)) == (1 if final.status == S.APPROVED else 0)
    assert len(await rows(sessions, BindingChangeRequest)) == 1


# ----- customer-initiated -----------------------------------------------------------------------


async def test_customer_unbind_approved_by_the_partner_admin_not_staff(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    parties: Parties,
) -> None:
    h = await start(client, worker, change(parties.binding_id, parties.customer, reason="moving"))
    await wait_status(h, S.PENDING)
    (task,) = await rows(sessions, HumanTask)
    assert (task.assignee_role, task.assignee_party) == ("partner_admin", "P-1")
    assert subjects(mailbox, "pa-1@users.test") == ["Approval needed: C-1 Ltd asks to be unbound"]
    assert "http://links.test/a/" in mailbox.to("pa-1@users.test")[0].text()
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(UnbindingWorkflow.approve, Decision(actor=parties.staff))
    assert "only a partner_admin of P-1" in str(err.value.cause)
    v = await h.execute_update(UnbindingWorkflow.approve, Decision(actor=parties.admin))
    assert v.status == S.APPROVED and v.initiator == Initiator.CUSTOMER and not v.auto_decided
    await finished(env, h)
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.ended_by) == ("ended", "pa-1")
    await save_history(h, "unbinding_workflow-customer-approved")


async def test_unanswered_customer_request_is_approved_automatically(
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    parties: Parties,
) -> None:
    h = await start(client, worker, change(parties.binding_id, parties.customer))
    result = await h.result()  # the clock skips the answer window
    assert result.status == S.APPROVED and result.auto_decided
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.ended_by) == ("ended", "system")
    (req,) = await rows(sessions, BindingChangeRequest)
    assert req.auto_decided and req.decided_by is None
    (task,) = await rows(sessions, HumanTask)
    assert task.status == "expired"
    assert "auto_approved" in [e.event for e in await rows(sessions, AuditEvent)]
    assert any(s.startswith("Reminder:") for s in subjects(mailbox, "pa-1@users.test"))
    await save_history(h, "unbinding_workflow-customer-auto-approved")


async def test_the_initiator_may_withdraw_the_request(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    parties: Parties,
) -> None:
    h = await start(client, worker, change(parties.binding_id, parties.admin))
    await wait_status(h, S.PENDING)
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(UnbindingWorkflow.cancel, Decision(actor=parties.customer))
    v = await h.execute_update(UnbindingWorkflow.cancel, Decision(actor=parties.admin))
    assert v.status == S.CANCELLED
    await finished(env, h)
    (task,) = await rows(sessions, HumanTask)
    assert task.status == "cancelled"
    assert any("withdrawn" in s for s in subjects(mailbox, CUSTOMER_MAIL))


async def test_international_site_ends_a_consulting_binding_at_once(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    parties = await add_parties(sessions, mode=AssociationMode.CONSULTING)
    req = change(parties.binding_id, parties.admin, immediate_consulting_unbind=True)
    result = await finished(env, await start(client, worker, req))
    assert result.status == S.APPROVED and result.auto_decided
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.ended_by) == ("ended", "pa-1")
    assert await rows(sessions, HumanTask) == []
    assert not any("Approval needed" in s for s in subjects(mailbox, CUSTOMER_MAIL))
    assert any("Association ended" in s for s in subjects(mailbox, CUSTOMER_MAIL))


# ----- after unbinding --------------------------------------------------------------------------


async def test_customer_can_be_invited_again_after_unbinding(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, parties: Parties
) -> None:
    h = await start(client, worker, change(parties.binding_id, parties.admin))
    await wait_status(h, S.PENDING)
    await h.execute_update(UnbindingWorkflow.approve, Decision(actor=parties.customer))
    await finished(env, h)
    inv = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=parties.staff),
        id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )

    async def pending() -> None:
        v = await inv.query(InvitationWorkflow.status)
        assert v.status == InvitationStatus.PENDING, v

    await eventually(pending)
    v = await inv.execute_update(InvitationWorkflow.accept, Decision(actor=parties.customer))
    assert v.status == InvitationStatus.ACCEPTED
    await finished(env, inv)
    bindings = sorted((b.id, b.status) for b in await rows(sessions, Binding))
    assert bindings == [(parties.binding_id, "ended"), (v.binding_id, "active")]
