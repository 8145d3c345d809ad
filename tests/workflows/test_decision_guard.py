"""A stuck activity under a workflow's decision lock refuses that decision in bounded time;
the workflow's other decisions and its timers go on (workflows/guard.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.registry import Deps
from domain.invitation_models import BindingOutcome, CreateBinding
from domain.invitations import InvitationRequest, InvitationStatus, InvitationView
from domain.parties import Decision, Role
from infra.smtp_sink import MailSink
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually
from worker import build_worker
from workflows.invitation import InvitationWorkflow

S = InvitationStatus
DECISION_TIMEOUT = timedelta(seconds=3)


class Hang:
    """``create_binding`` that never answers until the test releases it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = asyncio.Event()

    @activity.defn(name="create_binding")
    async def create_binding(self, req: CreateBinding) -> BindingOutcome:
        """Records the call, then hangs (as a stuck database or remote call would)."""
        self.calls.append(req.key)
        await self.release.wait()
        return BindingOutcome(binding_id=None)


@pytest.fixture
async def hang() -> AsyncIterator[Hang]:
    """The hanging activity; released at the end so the worker stops at once."""
    h = Hang()
    yield h
    h.release.set()


async def test_a_hanging_activity_refuses_the_decision_and_the_timers_still_fire(
    client: Client, deps: Deps, task_queue: str, mailbox: MailSink, hang: Hang
) -> None:
    await add_partner(deps.sessions, "P-1")
    await add_customer(deps.sessions, "C-1")
    staff = await add_user(deps.sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    worker = build_worker(
        client, deps, task_queue=task_queue, replace_activities=[hang.create_binding]
    )
    async with worker:
        h: WorkflowHandle[InvitationWorkflow, InvitationView] = await client.start_workflow(
            InvitationWorkflow.run,
            InvitationRequest(
                partner_id="P-1",
                customer_id="C-1",
                requested_by=staff,
                decision_timeout=DECISION_TIMEOUT,
            ),
            id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
        )

        async def pending() -> None:
            assert (await h.query(InvitationWorkflow.status)).status == S.PENDING

        await eventually(pending)
        started = asyncio.get_running_loop().time()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(InvitationWorkflow.accept, Decision(actor=customer_actor("C-1")))
        waited = asyncio.get_running_loop().time() - started
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "DecisionTimedOutError" and cause.details[0] == "decision_timed_out"
        assert hang.calls, "the accept never reached its activity"
        assert DECISION_TIMEOUT.total_seconds() <= waited < 60
        # Nothing was decided and the lock is free: the query answers, the state is unchanged.
        view = await h.query(InvitationWorkflow.status)
        assert view.status == S.PENDING and view.decided_by is None

        # The reminder and the expiry timers still fire: the invitation expires on its own.
        result = await h.result()  # time must pass here: the clock skips the 7 days
        assert result.status == S.EXPIRED
        subjects = [m.subject for m in mailbox.to("c-1@customer.test")]
        assert any("Reminder" in s for s in subjects), subjects
