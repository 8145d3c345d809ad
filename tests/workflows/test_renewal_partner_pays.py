"""``partner_pays`` feedback: the partner-payment rule, and the customer's authorization.

Every workflow started here ends before its test does, and an authorization (a child that
the renewal abandons when it closes) ends before its parent: on the time-skipping server a
workflow left waiting on a queue without a worker, or an abandoned child outliving its
parent, stops the clock for every later test.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.authorizations import AuthorizationStatus, authorization_workflow_id
from domain.parties import AssociationMode, Decision, Role
from domain.renewals import RenewalFeedback, RenewalOutcome, RenewalStatus, RenewalView
from infra.smtp_sink import MailSink
from infra.tables import CustomerAuthorization
from tests.factories import add_partner, add_user, customer_actor
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
from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.renewal import RenewalWorkflow

PARTNER_MAIL = "p-1@partner.test"


def _cause(exc: BaseException) -> str:
    return str(getattr(exc, "cause", None) or exc)


async def test_partner_payment_rule_for_consulting_customers(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    consulting = AssociationMode.CONSULTING
    provider = await setup_party(sessions, now, mode=consulting)
    reseller = await setup_party(
        sessions,
        now,
        partner_id="P-2",
        customer_id="C-2",
        partner_type="cloud_reseller",
        mode=consulting,
        with_manager=False,
    )
    sub1 = await add_subscription(sessions, "O-1", "C-1", now + days(20))
    sub2 = await add_subscription(sessions, "O-2", "C-2", now + days(20))
    h1 = await start_renewal(client, worker.task_queue, sub1, mode=consulting)
    h2 = await start_renewal(client, worker.task_queue, sub2, partner_id="P-2", mode=consulting)

    # A solution provider pays for a consulting customer without any authorization.
    v = await h1.execute_update(
        RenewalWorkflow.feedback,
        RenewalFeedback(actor=provider.admin, outcome=RenewalOutcome.PARTNER_PAYS),
        id="f1",
    )
    assert v.status == RenewalStatus.PARTNER_PAYS and v.authorization_workflow_id is None
    # A cloud reseller pays only for resale customers.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h2.execute_update(
            RenewalWorkflow.feedback,
            RenewalFeedback(actor=reseller.admin, outcome=RenewalOutcome.PARTNER_PAYS),
            id="f2",
        )
    assert "cloud reseller: it may pay only for resale customers" in _cause(refused.value)
    assert (await h2.query(RenewalWorkflow.status)).status == RenewalStatus.OPEN
    for sub, h in ((sub1, h1), (sub2, h2)):
        await extend_subscription(sessions, sub.order_id, sub.expires_at + days(365))
        assert (await h.result()).status == RenewalStatus.RENEWED  # the next daily check sees it


async def _status(h: object, want: RenewalStatus) -> RenewalView:
    async def check() -> RenewalView:
        v: RenewalView = await h.query(RenewalWorkflow.status)  # type: ignore[attr-defined]
        assert v.status == want, v.status
        return v

    return await eventually(check)


async def test_resale_customer_authorizes_once_for_several_orders(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    party = await setup_party(sessions, now)
    subs = [
        await add_subscription(sessions, f"O-{n}", "C-1", now + days(10 + n)) for n in (1, 2, 3)
    ]
    h1, h2, h3 = [await start_renewal(client, worker.task_queue, s) for s in subs]

    pays = RenewalFeedback(actor=party.staff, outcome=RenewalOutcome.PARTNER_PAYS)
    with pytest.raises(WorkflowUpdateFailedError) as no_letter:
        await h1.execute_update(RenewalWorkflow.feedback, pays, id="f0")
    assert "commitment letter" in _cause(no_letter.value)
    assert (await h1.query(RenewalWorkflow.status)).status == RenewalStatus.OPEN

    accepting = pays.model_copy(update={"accept_commitment_letter": True})
    v1 = await h1.execute_update(RenewalWorkflow.feedback, accepting, id="f1")
    auth_id = authorization_workflow_id("P-1", "C-1")
    assert v1.status == RenewalStatus.AWAITING_AUTHORIZATION
    assert v1.authorization_workflow_id == auth_id
    auth = client.get_workflow_handle_for(CustomerAuthorizationWorkflow.run, auth_id)

    async def customer_asked() -> None:
        v = await auth.query(CustomerAuthorizationWorkflow.status)
        assert v.status == AuthorizationStatus.AWAITING_CUSTOMER

    await eventually(customer_asked)
    # A second order joins the pending request instead of asking again.
    v2 = await h2.execute_update(RenewalWorkflow.feedback, pays, id="f2")
    assert v2.status == RenewalStatus.AWAITING_AUTHORIZATION
    assert v2.authorization_workflow_id == auth_id

    await auth.execute_update(
        CustomerAuthorizationWorkflow.approve, Decision(actor=customer_actor("C-1")), id="ok"
    )
    for h in (h1, h2):
        v = await _status(h, RenewalStatus.PARTNER_PAYS)
        assert v.authorization_status == "APPROVED"

    # A third order reuses the approved, unexpired authorization at once.
    v3 = await h3.execute_update(RenewalWorkflow.feedback, pays, id="f3")
    assert v3.status == RenewalStatus.PARTNER_PAYS
    assert v3.authorization_workflow_id == auth_id
    assert "reusing the customer's authorization" in (v3.note or "")
    requests = [s for s in subjects(mailbox, "c-1@customer.test") if "Authorization request" in s]
    assert len(requests) == 1

    # The customer revokes: every task that relied on it goes back to the partner.
    await auth.execute_update(
        CustomerAuthorizationWorkflow.revoke,
        Decision(actor=customer_actor("C-1"), comment="we pay ourselves from now on"),
        id="revoke",
    )
    assert (await finished(env, auth)).status == AuthorizationStatus.REVOKED
    for h in (h1, h2, h3):
        v = await _status(h, RenewalStatus.CLAIMED)
        assert "revoked: we pay ourselves from now on" in (v.note or "")

    # The customer renews itself; the billing import shows all three renewed.
    for sub in subs:
        await extend_subscription(sessions, sub.order_id, sub.expires_at + days(365))
    for h in (h1, h2, h3):
        assert (await h.result()).status == RenewalStatus.RENEWED  # the next daily check
    await save_history(h1, "renewal_workflow-partner-pays-authorized")
    async with sessions() as s:
        rows = (await s.scalars(select(CustomerAuthorization))).all()
    assert [r.status for r in rows] == ["REVOKED"]


async def test_distributor_says_no_and_the_task_goes_back_to_the_partner(
    client: Client, worker: Worker, env: WorkflowEnvironment, sessions: Sessions, mailbox: MailSink
) -> None:
    now = await server_now(env)
    await add_partner(sessions, "D-1", type="distributor")
    d_admin = await add_user(sessions, "d-1-admin", Role.PARTNER_ADMIN, partner_id="D-1")
    party = await setup_party(sessions, now, partner_type="cloud_reseller", distributor_id="D-1")
    sub = await add_subscription(sessions, "O-9", "C-1", now + days(20))
    h = await start_renewal(client, worker.task_queue, sub)
    await h.execute_update(RenewalWorkflow.claim, Decision(actor=party.staff), id="c1")
    v = await h.execute_update(
        RenewalWorkflow.feedback,
        RenewalFeedback(
            actor=party.staff, outcome=RenewalOutcome.PARTNER_PAYS, accept_commitment_letter=True
        ),
        id="f1",
    )
    assert v.status == RenewalStatus.AWAITING_AUTHORIZATION
    auth = client.get_workflow_handle_for(
        CustomerAuthorizationWorkflow.run, authorization_workflow_id("P-1", "C-1")
    )

    async def distributor_asked() -> None:
        v = await auth.query(CustomerAuthorizationWorkflow.status)
        assert v.status == AuthorizationStatus.AWAITING_DISTRIBUTOR

    await eventually(distributor_asked)
    await auth.execute_update(
        CustomerAuthorizationWorkflow.cancel,
        Decision(actor=d_admin, comment="credit limit of the reseller reached"),
        id="no",
    )
    assert (await finished(env, auth)).status == AuthorizationStatus.CANCELLED
    back = await _status(h, RenewalStatus.CLAIMED)
    assert "credit limit of the reseller reached" in (back.note or "")

    async def told() -> None:
        got = subjects(mailbox, "p-1-staff@users.test")
        assert any("customer authorization cancelled" in s for s in got), got

    await eventually(told)
    # The partner records another outcome; the task goes on.
    v = await h.execute_update(
        RenewalWorkflow.feedback,
        RenewalFeedback(
            actor=party.staff, outcome=RenewalOutcome.CUSTOMER_DECLINES, reason="budget cut"
        ),
        id="f2",
    )
    assert v.status == RenewalStatus.DECLINED
    assert (await finished(env, h)).status == RenewalStatus.DECLINED
