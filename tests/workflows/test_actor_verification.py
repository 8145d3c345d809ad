"""A decision takes effect only for an actor the database confirms: an update sent straight to
Temporal with a forged role, an unknown user or a deactivated one is refused, audited with who
tried, and changes nothing; a verified decision records the operator who entered it."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invitations import InvitationStatus
from domain.parties import Actor, Decision, Role
from domain.unbinding import RequestStatus
from infra.tables import AuditEvent, Binding, HumanTask, User
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import finished, save_history
from tests.workflows.test_invitation import start as start_invitation
from tests.workflows.test_invitation import wait_status as wait_invitation
from tests.workflows.test_unbinding import (
    Sessions,
    add_parties,
    change,
    rows,
)
from tests.workflows.test_unbinding import (
    start as start_unbinding,
)
from tests.workflows.test_unbinding import (
    wait_status as wait_unbinding,
)
from workflows.invitation import InvitationWorkflow
from workflows.unbinding import UnbindingWorkflow


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> ApplicationError:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError), repr(cause)
    return cause


async def events(sessions: Sessions, event: str) -> list[AuditEvent]:
    async with sessions() as s:
        found = await s.scalars(select(AuditEvent).where(AuditEvent.event == event))
        return list(found.all())


async def test_a_forged_partner_admin_cannot_approve_an_unbinding(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions
) -> None:
    parties = await add_parties(sessions)
    # mallory is a real user, but partner_staff: she claims partner_admin in the payload.
    await add_user(sessions, "mallory", Role.PARTNER_STAFF, partner_id="P-1")
    h = await start_unbinding(client, worker, change(parties.binding_id, parties.customer))
    await wait_unbinding(h, RequestStatus.PENDING)

    forged = Actor(user_id="mallory", role=Role.PARTNER_ADMIN, partner_id="P-1")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(UnbindingWorkflow.approve, Decision(actor=forged), id="forged-1")
    cause = refusal(err)
    assert cause.non_retryable and cause.details[0] == "actor_not_verified"
    assert "mallory" in cause.message and "partner_staff" in cause.message
    ghost = Actor(user_id="ghost", role=Role.PARTNER_ADMIN, partner_id="P-1")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(UnbindingWorkflow.approve, Decision(actor=ghost), id="forged-2")
    assert "no user or customer with id 'ghost'" in refusal(err).message

    # Nothing changed: still pending, the binding active, the task open.
    assert (await h.query(UnbindingWorkflow.status)).status == RequestStatus.PENDING
    (binding,) = await rows(sessions, Binding)
    assert binding.status == "active"
    (task,) = await rows(sessions, HumanTask)
    assert task.status == "open"
    refused = await events(sessions, "actor_refused")
    assert [e.actor for e in refused] == ["mallory", "ghost"]
    assert "claimed mallory (partner_admin, P-1)" in refused[0].detail
    assert "stored: partner_staff of partner P-1" in refused[0].detail

    # The real admin's decision still works, and records who typed it.
    v = await h.execute_update(
        UnbindingWorkflow.approve, Decision(actor=parties.admin, operator="alice"), id="real"
    )
    assert v.status == RequestStatus.APPROVED and v.decided_by == "pa-1"
    assert (await finished(env, h)).status == RequestStatus.APPROVED
    (approved,) = await events(sessions, "approved")
    assert (approved.actor, approved.operator) == ("pa-1", "alice")
    await save_history(h, "unbinding_workflow-actor-refused")


async def test_a_forged_customer_and_a_deactivated_user_cannot_decide_an_invitation(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    former = await add_user(sessions, "u-former", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == "u-former").values(active=False))
    h = await start_invitation(client, worker, staff)
    await wait_invitation(h, InvitationStatus.PENDING)

    forged = Actor(user_id="mallory", role=Role.CUSTOMER, customer_id="C-1")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(InvitationWorkflow.accept, Decision(actor=forged), id="f-1")
    assert refusal(err).details[0] == "actor_not_verified"
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(InvitationWorkflow.cancel, Decision(actor=former), id="f-2")
    cause = refusal(err)
    assert cause.details[0] == "actor_not_verified" and "u-former is deactivated" in cause.message
    assert (await h.query(InvitationWorkflow.status)).status == InvitationStatus.PENDING
    assert await rows(sessions, Binding) == []
    refused = await events(sessions, "actor_refused")
    assert [e.actor for e in refused] == ["mallory", "u-former"]
    assert "deactivated" in refused[1].detail

    v = await h.execute_update(
        InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")), id="real"
    )
    assert v.status == InvitationStatus.ACCEPTED
    assert (await finished(env, h)).status == InvitationStatus.ACCEPTED
    await save_history(h, "invitation-actor-refused")
