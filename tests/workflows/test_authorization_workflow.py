"""The customer authorization workflow on its own: approve, cancel, lapse, expire, revoke."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.authorizations import (
    AuthorizationRequest,
    AuthorizationStatus,
    AuthorizationView,
    authorization_workflow_id,
)
from domain.parties import Actor, Decision, Role
from infra.smtp_sink import MailSink
from infra.tables import CommitmentLetter, CustomerAuthorization, HumanTask
from tests.factories import add_partner, add_user, customer_actor
from tests.harness import eventually, finished, save_history
from tests.workflows.test_renewal_fixtures import Sessions, days, server_now, setup_party, subjects
from workflows.authorization import CustomerAuthorizationWorkflow

A = AuthorizationStatus
PARTNER_MAIL = "p-1@partner.test"
CUSTOMER_MAIL = "c-1@customer.test"


def _cause(exc: BaseException) -> str:
    return str(getattr(exc, "cause", None) or exc)


async def _request(
    client: Client,
    task_queue: str,
    actor: Actor,
    *,
    letter: bool = True,
    partner_id: str = "P-1",
    customer_id: str = "C-1",
) -> WorkflowHandle[Any, AuthorizationView]:
    handle = await client.start_workflow(
        CustomerAuthorizationWorkflow.run,
        AuthorizationRequest(
            partner_id=partner_id,
            customer_id=customer_id,
            requested_by=actor,
            accept_commitment_letter=letter,
            purpose="renew the database cluster",
        ),
        id=authorization_workflow_id(partner_id, customer_id),
        task_queue=task_queue,
    )

    async def asked() -> None:
        v = await handle.query(CustomerAuthorizationWorkflow.status)
        assert v.status != A.CHECKING

    await eventually(asked)
    return handle


async def test_approved_authorization_expires_after_its_validity(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    h = await _request(client, worker.task_queue, party.staff)
    assert (await h.query(CustomerAuthorizationWorkflow.status)).status == A.AWAITING_CUSTOMER
    with pytest.raises(WorkflowUpdateFailedError) as partner_approves:
        await h.execute_update(CustomerAuthorizationWorkflow.approve, Decision(actor=party.admin))
    assert "only customer C-1 may decide" in _cause(partner_approves.value)

    v = await h.execute_update(
        CustomerAuthorizationWorkflow.approve, Decision(actor=customer_actor("C-1")), id="a1"
    )
    assert v.status == A.APPROVED
    assert v.valid_until is not None and v.decided_at is not None
    assert v.valid_until - v.decided_at == days(30)
    again = await h.execute_update(
        CustomerAuthorizationWorkflow.approve, Decision(actor=customer_actor("C-1")), id="a2"
    )
    assert again.valid_until == v.valid_until  # a repeated approval changes nothing

    result = await h.result()  # 30 days pass
    assert result.status == A.EXPIRED
    await save_history(h, "customer_authorization_workflow-expired")
    async with sessions() as s:
        row = await s.scalar(select(CustomerAuthorization))
        letters = await s.scalar(select(func.count()).select_from(CommitmentLetter))
        task = await s.scalar(select(HumanTask).where(HumanTask.workflow_id == h.id))
    assert row is not None and row.status == "EXPIRED" and row.decided_by == "C-1"
    assert letters == 1
    assert task is not None and task.status == "done" and task.decision == "approve"
    assert task.assignee_role == "customer" and task.assignee_party == "C-1"
    customer = subjects(mailbox, CUSTOMER_MAIL)
    assert any(s.startswith("Authorization request:") for s in customer), customer
    assert any(s.startswith("You authorized") for s in customer), customer
    request = next(m for m in mailbox.to(CUSTOMER_MAIL) if "request" in m.subject)
    assert "http://links.test/a/" in request.text()
    partner = subjects(mailbox, PARTNER_MAIL)
    assert any(s.startswith("Your commitment letter") for s in partner), partner
    assert any(s.startswith("Authorized:") for s in partner), partner
    assert any(s.startswith("Authorization by C-1 Ltd expired") for s in partner), partner


async def test_customer_cancels_and_a_new_request_needs_no_new_letter(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    h = await _request(client, worker.task_queue, party.staff)
    v = await h.execute_update(
        CustomerAuthorizationWorkflow.cancel,
        Decision(actor=customer_actor("C-1"), comment="we renew ourselves"),
        id="x1",
    )
    assert v.status == A.CANCELLED and v.reason == "we renew ourselves"
    assert (await finished(env, h)).status == A.CANCELLED
    await save_history(h, "customer_authorization_workflow-cancelled")
    assert any(
        s.startswith("Authorization request to C-1 Ltd cancelled")
        for s in subjects(mailbox, PARTNER_MAIL)
    )

    # The letter was accepted with the first request: the second needs no acceptance.
    h2 = await _request(client, worker.task_queue, party.staff, letter=False)
    assert (await h2.query(CustomerAuthorizationWorkflow.status)).status == A.AWAITING_CUSTOMER
    lapsed = await h2.result()  # nobody answers within the 7-day window
    assert lapsed.status == A.LAPSED
    await save_history(h2, "customer_authorization_workflow-lapsed")
    assert any("lapsed" in s for s in subjects(mailbox, PARTNER_MAIL))
    async with sessions() as s:
        rows = (await s.scalars(select(CustomerAuthorization.status))).all()
        letters = await s.scalar(select(func.count()).select_from(CommitmentLetter))
    assert sorted(rows) == ["CANCELLED", "LAPSED"]
    assert letters == 1


async def test_customer_revokes_with_a_reason(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    h = await _request(client, worker.task_queue, party.staff)
    await h.execute_update(
        CustomerAuthorizationWorkflow.approve, Decision(actor=customer_actor("C-1")), id="a1"
    )
    with pytest.raises(WorkflowUpdateFailedError) as partner_revokes:
        await h.execute_update(
            CustomerAuthorizationWorkflow.revoke, Decision(actor=party.admin, comment="x"), id="r0"
        )
    assert "only customer C-1 may revoke" in _cause(partner_revokes.value)
    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await h.execute_update(
            CustomerAuthorizationWorkflow.revoke, Decision(actor=customer_actor("C-1")), id="r1"
        )
    assert "needs a reason" in _cause(no_reason.value)
    v = await h.execute_update(
        CustomerAuthorizationWorkflow.revoke,
        Decision(actor=customer_actor("C-1"), comment="the contract with the partner ended"),
        id="r2",
    )
    assert v.status == A.REVOKED and v.revoked_by == "C-1"
    result = await finished(env, h)
    assert result.reason == "the contract with the partner ended"
    revoked = next(m for m in mailbox.to(PARTNER_MAIL) if "revoked" in m.subject)
    assert "the contract with the partner ended" in revoked.text()
    await save_history(h, "customer_authorization_workflow-revoked")


async def test_reseller_needs_its_distributor_first(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    await add_partner(sessions, "D-1", type="distributor")
    d_admin = await add_user(sessions, "d-1-admin", Role.PARTNER_ADMIN, partner_id="D-1")
    d_staff = await add_user(sessions, "d-1-staff", Role.PARTNER_STAFF, partner_id="D-1")
    party = await setup_party(sessions, now, partner_type="cloud_reseller", distributor_id="D-1")
    h = await _request(client, worker.task_queue, party.staff)
    assert (await h.query(CustomerAuthorizationWorkflow.status)).status == A.AWAITING_DISTRIBUTOR

    async def distributor_asked() -> None:
        got = subjects(mailbox, "d-1-admin@users.test")
        assert any("asks to order on behalf" in s for s in got), got

    await eventually(distributor_asked)
    assert mailbox.to(CUSTOMER_MAIL) == []  # the customer is not asked yet
    for early in (customer_actor("C-1"), d_staff):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(CustomerAuthorizationWorkflow.approve, Decision(actor=early))
        assert "waits for distributor D-1" in _cause(refused.value)

    v = await h.execute_update(
        CustomerAuthorizationWorkflow.approve, Decision(actor=d_admin), id="d1"
    )
    assert v.status == A.AWAITING_CUSTOMER and v.distributor_approved_by == "d-1-admin"

    async def customer_asked() -> None:
        assert any(s.startswith("Authorization request") for s in subjects(mailbox, CUSTOMER_MAIL))

    await eventually(customer_asked)
    v = await h.execute_update(
        CustomerAuthorizationWorkflow.approve, Decision(actor=customer_actor("C-1")), id="c1"
    )
    assert v.status == A.APPROVED
    async with sessions() as s:
        tasks = {
            t.kind: t
            for t in (await s.scalars(select(HumanTask).where(HumanTask.workflow_id == h.id))).all()
        }
    assert tasks["authorization_distributor"].assignee_party == "D-1"
    assert tasks["authorization_distributor"].decided_by == "d-1-admin"
    # End it cleanly (a terminate with an activity in flight stalls the skipping clock).
    await h.execute_update(
        CustomerAuthorizationWorkflow.revoke,
        Decision(actor=customer_actor("C-1"), comment="test over"),
        id="r1",
    )
    assert (await finished(env, h)).status == A.REVOKED
    await save_history(h, "customer_authorization_workflow-distributor_then_customer")


async def test_refused_before_anyone_is_asked(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    h = await _request(client, worker.task_queue, party.staff, letter=False)
    result = await finished(env, h)
    assert result.status == A.REFUSED
    assert [r.rule for r in result.refusals] == ["commitment_letter_required"]
    assert mailbox.messages == []
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CustomerAuthorization)) == 0
