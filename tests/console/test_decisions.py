"""Each decision kind from the inbox: the signed-in user is the actor, a real worker on the
time-skipping server runs the workflow, a refusal is shown with what to do."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.authorizations import (
    AuthorizationRequest,
    AuthorizationStatus,
    authorization_workflow_id,
)
from domain.incentives import PayoutMethod, PayoutStatus
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import AssociationMode, Role
from domain.renewals import RenewalStatus
from domain.unbinding import RequestStatus
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent
from tests.console.helpers import (
    Sessions,
    awaiting_application,
    closed_task,
    csrf_in,
    decide,
    open_task,
    session_for,
    sign_in_by_link,
    task_row,
)
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually, finished
from tests.workflows import test_incentive as incentive
from tests.workflows import test_renewal_fixtures as renewal_fixtures
from tests.workflows import test_unbinding as unbinding
from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.incentive import IncentivePayoutWorkflow
from workflows.invitation import InvitationWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.unbinding import UnbindingWorkflow


async def comments(sessions: Sessions, workflow_id: str) -> list[tuple[str, str]]:
    async with sessions() as s:
        rows = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.workflow_id == workflow_id, AuditEvent.event == "comment"
                )
            )
        ).all()
    return [(r.actor, r.detail) for r in rows]


async def invite(client: Client, worker: Worker, sessions: Sessions) -> str:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id="P-1")
    await add_customer(sessions, "C-1")
    wid = f"invitation-P-1-C-1.{uuid.uuid4().hex[:6]}"
    await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(
            partner_id="P-1", customer_id="C-1", mode=AssociationMode.CONSULTING, requested_by=staff
        ),
        id=wid,
        task_queue=worker.task_queue,
    )
    return wid


async def test_customer_accepts_an_invitation_from_the_inbox_with_a_comment(
    client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink, web: httpx.AsyncClient
) -> None:
    wid = await invite(client, worker, sessions)
    task = await open_task(sessions, "invitation_decision")
    await sign_in_by_link(web, mailbox, "c-1@customer.test")
    inbox = await web.get("/")
    assert "Invitation from P-1 Tech Co., Ltd. (consulting)" in inbox.text
    page = await web.get(f"/tasks/{task.id}")
    # The facts name the partner, not only its id.
    assert "P-1 Tech Co., Ltd. (P-1)" in page.text and "Accept" in page.text
    done = await decide(web, task.id, "accept", comment="Glad to work with you")
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert "status is now accepted" in (await web.get("/")).text
    view = await client.get_workflow_handle(wid).query(InvitationWorkflow.status)
    assert view.status == InvitationStatus.ACCEPTED
    closed = await closed_task(sessions, task.id)
    assert closed.decided_by == "C-1"
    assert await comments(sessions, wid) == [
        (
            "C-1",
            "C-1 Ltd on 'Invitation from P-1 Tech Co., Ltd. (consulting)': Glad to work with you",
        )
    ]
    # The task is gone from the inbox and listed as done; its page is closed for decisions.
    again = await web.get("/")
    assert f'href="/tasks/{task.id}"' not in again.text and "Done recently (1)" in again.text


async def test_customer_declines_with_a_reason(
    client: Client,
    worker: Worker,
    sessions: Sessions,
    settings: Settings,
    web: httpx.AsyncClient,
) -> None:
    wid = await invite(client, worker, sessions)
    task = await open_task(sessions, "invitation_decision")
    await session_for(web, settings, "C-1")
    done = await decide(web, task.id, "decline", comment="We have a partner already")
    assert done.status_code == 303
    view = await client.get_workflow_handle(wid).query(InvitationWorkflow.status)
    assert view.status == InvitationStatus.DECLINED and view.reason == "We have a partner already"


async def test_partner_admin_approves_a_customer_initiated_unbinding_staff_cannot_see_it(
    client: Client,
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: Sessions,
    settings: Settings,
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
) -> None:
    parties = await unbinding.add_parties(sessions, allocated="500.00")
    h = await unbinding.start(
        client, worker, unbinding.change(parties.binding_id, parties.customer, reason="moving")
    )
    await unbinding.wait_status(h, RequestStatus.PENDING)
    task = await open_task(sessions, "binding_change_approval")
    await session_for(other_web, settings, "ps-1")
    assert (await other_web.get(f"/tasks/{task.id}")).status_code == 404
    await session_for(web, settings, "pa-1")
    assert "C-1 Ltd" in (await web.get("/")).text
    done = await decide(web, task.id, "approve")
    assert done.status_code == 303
    view = await h.query(UnbindingWorkflow.status)
    assert view.status == RequestStatus.APPROVED
    await finished(env, h)


async def test_partner_admin_rejects_an_unbinding(
    client: Client,
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: Sessions,
    settings: Settings,
    web: httpx.AsyncClient,
) -> None:
    parties = await unbinding.add_parties(sessions, allocated="500.00")
    h = await unbinding.start(
        client, worker, unbinding.change(parties.binding_id, parties.customer, reason="moving")
    )
    await unbinding.wait_status(h, RequestStatus.PENDING)
    task = await open_task(sessions, "binding_change_approval")
    await session_for(web, settings, "pa-1")
    done = await decide(web, task.id, "reject", comment="Unpaid orders first")
    assert done.status_code == 303
    assert (await h.query(UnbindingWorkflow.status)).status == RequestStatus.REJECTED
    await finished(env, h)


async def test_payout_applied_invoiced_and_approved_from_the_inbox(
    client: Client,
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: Sessions,
    settings: Settings,
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
) -> None:
    await incentive.seed(sessions)
    h = await incentive.start(client, worker.task_queue)
    await incentive.reach(h, PayoutStatus.AWAITING_APPLICATION)
    await session_for(web, settings, "P-1-admin")

    application = await open_task(sessions, "incentive_application")
    assert (await decide(web, application.id, "apply", method="bank_transfer")).status_code == 303
    view = await incentive.reach(h, PayoutStatus.AWAITING_INVOICE)
    assert view.method == PayoutMethod.BANK_TRANSFER

    invoice_task = await open_task(sessions, "incentive_invoice")
    good = incentive.invoice_for(view, "22222222")
    fields = {k: str(v) for k, v in good.model_dump(mode="json").items()}
    # A field error is shown next to the field; nothing reaches the workflow.
    bad = await decide(web, invoice_task.id, "submit_invoice", **{**fields, "total": "lots"})
    assert bad.status_code == 422 and "enter an amount such as 1234.50" in bad.text
    # The workflow's verification refuses an ordinary invoice: the page says what to do.
    refused = await decide(
        web, invoice_task.id, "submit_invoice", **{**fields, "invoice_type": "vat_ordinary"}
    )
    assert refused.status_code == 422 and "The invoice was not accepted" in refused.text
    assert "What to do" in refused.text
    ok = await decide(web, invoice_task.id, "submit_invoice", **fields)
    assert ok.status_code == 303, ok.text[:3000]
    await incentive.reach(h, PayoutStatus.AWAITING_APPROVAL)

    approval = await open_task(sessions, "incentive_approval")
    # The partner admin cannot see finance's task.
    assert (await web.get(f"/tasks/{approval.id}")).status_code == 404
    await session_for(other_web, settings, "fin-1")
    page = await other_web.get(f"/tasks/{approval.id}")
    assert "1400.00" in page.text
    done = await decide(other_web, approval.id, "approve", comment="Checked the invoice")
    assert done.status_code == 303
    result = await finished(env, h)
    assert result.status == PayoutStatus.PAID and result.amount == Decimal("1400.00")
    assert (await task_row(sessions, approval.id)).decided_by == "fin-1"


async def test_a_workflow_refusal_is_shown_with_what_to_do(
    client: Client,
    worker: Worker,
    sessions: Sessions,
    settings: Settings,
    web: httpx.AsyncClient,
) -> None:
    # ops may see every task, but the workflow accepts the application only from the admin.
    h, application = await awaiting_application(client, worker.task_queue, sessions)
    await session_for(web, settings, "ops-2")
    refused = await decide(web, application.id, "apply", method="voucher")
    assert refused.status_code == 409, refused.text[:2000]
    assert 'id="refusal"' in refused.text and "What to do" in refused.text
    assert (await h.query(IncentivePayoutWorkflow.status)).status == (
        PayoutStatus.AWAITING_APPLICATION
    )


async def test_partner_staff_claims_a_renewal_in_the_workflow_too_and_sends_feedback(
    client: Client,
    worker: Worker,
    env: WorkflowEnvironment,
    sessions: Sessions,
    settings: Settings,
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
) -> None:
    now = await renewal_fixtures.server_now(env)
    party = await renewal_fixtures.setup_party(sessions, now)
    sub = await renewal_fixtures.add_subscription(
        sessions, "O-100", "C-1", now + renewal_fixtures.days(20)
    )
    h = await renewal_fixtures.start_renewal(client, worker.task_queue, sub)
    task = await open_task(sessions, "renewal_task")
    await session_for(web, settings, party.staff.user_id)
    page = await web.get(f"/tasks/{task.id}")
    claimed = await web.post(f"/tasks/{task.id}/claim", data={"csrf": csrf_in(page.text)})
    assert claimed.status_code == 303
    view = await h.query(RenewalWorkflow.status)
    assert view.status == RenewalStatus.CLAIMED and view.claimed_by == party.staff.user_id
    # The other staff user no longer sees it (claimed by a colleague).
    await session_for(other_web, settings, party.staff2.user_id)
    assert (await other_web.get(f"/tasks/{task.id}")).status_code == 404
    # A decline needs a reason: the workflow's refusal is shown, nothing recorded.
    refused = await decide(web, task.id, "feedback", outcome="customer_declines")
    assert refused.status_code in (409, 422) and 'id="refusal"' in refused.text
    done = await decide(web, task.id, "feedback", outcome="will_renew")
    assert done.status_code == 303
    assert (await h.query(RenewalWorkflow.status)).status == RenewalStatus.WILL_RENEW


async def test_customer_authorizes_the_partner_from_the_inbox(
    client: Client,
    worker: Worker,
    env: WorkflowEnvironment,
    sessions: Sessions,
    settings: Settings,
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
) -> None:
    now = await renewal_fixtures.server_now(env)
    party = await renewal_fixtures.setup_party(sessions, now)
    h = await client.start_workflow(
        CustomerAuthorizationWorkflow.run,
        AuthorizationRequest(
            partner_id="P-1",
            customer_id="C-1",
            requested_by=party.staff,
            accept_commitment_letter=True,
            purpose="renew the database cluster",
        ),
        id=authorization_workflow_id("P-1", "C-1"),
        task_queue=worker.task_queue,
    )
    task = await open_task(sessions, "authorization_customer")
    # The partner that asked cannot decide for the customer: the task is not in its scope.
    await session_for(other_web, settings, party.admin.user_id)
    assert (await other_web.get(f"/tasks/{task.id}")).status_code == 404
    await session_for(web, settings, "C-1")
    page = await web.get(f"/tasks/{task.id}")
    assert "Authorize" in page.text and "Refuse" in page.text
    done = await decide(web, task.id, "approve")
    assert done.status_code == 303
    view = await h.query(CustomerAuthorizationWorkflow.status)
    assert view.status == AuthorizationStatus.APPROVED
    # The workflow closes its task in an activity after the update has answered.

    async def closed_by_customer() -> None:
        assert (await task_row(sessions, task.id)).decided_by == "C-1"

    await eventually(closed_by_customer)

    async def idle() -> None:  # ended with no activity in flight: the test clock stays free
        assert not (await h.describe()).raw_description.pending_activities

    await eventually(idle)
    await h.terminate("test done")
