"""What the unbinding workflow refuses, and how it stays exactly-once: staff and strangers,
pre-checks, the frequency limit, switching to resale with a credit account, a second open
request, activity retries, and the signed email link."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import Deps, build_activities
from activities.unbinding import UnbindingActivities
from domain.parties import AssociationMode, Decision
from domain.unbinding import ChangeKind, RequestStatus, add_months
from domain.unbinding_models import RecoverBalance, RecoveryResult
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import AuditEvent, Binding, EmailOutbox, HumanTask
from infra.tables.unbinding import BalanceRecovery, BindingChangeRequest
from starter.web.links import create_app
from tests.factories import add_binding, add_customer, customer_actor
from tests.harness import eventually, finished, new_task_queue
from tests.workflows.test_unbinding import (
    CUSTOMER_MAIL,
    Parties,
    add_parties,
    change,
    rows,
    start,
    wait_status,
)
from workflows.registry import ALL_WORKFLOWS
from workflows.unbinding import UnbindingWorkflow

Sessions = async_sessionmaker[AsyncSession]
S = RequestStatus


async def wait_closed(handle: WorkflowHandle[Any, Any]) -> None:
    async def closed() -> None:
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(closed)


async def assert_nothing_recorded(sessions: Sessions, mailbox: MailSink) -> None:
    for table in (BindingChangeRequest, HumanTask, AuditEvent, EmailOutbox):
        assert await rows(sessions, table) == [], table.__name__
    assert mailbox.messages == []


async def test_partner_staff_is_refused_and_nothing_is_recorded(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    parties = await add_parties(sessions)
    result = await finished(
        env, await start(client, worker, change(parties.binding_id, parties.staff))
    )
    assert result.status == S.REFUSED
    assert [r.rule for r in result.refusals] == ["partner_admin_only"]
    assert "only a partner_admin of P-1" in (result.reason or "")
    await assert_nothing_recorded(sessions, mailbox)


PRECHECKS: list[tuple[dict[str, Any], str]] = [
    ({"in_arrears": True}, "arrears"),
    ({"account_frozen": True}, "account_frozen"),
    ({"has_reserved_instances": True}, "reserved_instances_or_support_plan"),
    ({"has_support_plan": True}, "reserved_instances_or_support_plan"),
    (
        {"enterprise_role": "master", "enterprise_has_independent_members": True},
        "enterprise_master_with_members",
    ),
    ({"has_special_contract": True}, "special_contract"),
    ({"has_orders_awaiting_partner_payment": True}, "orders_awaiting_partner_payment"),
    ({"has_unused_pickup_vouchers": True}, "unused_pickup_vouchers"),
]


async def test_each_precheck_refuses_before_anything_is_recorded(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    # One customer per pre-check, all bound to P-1, in one database (a setup per case would
    # cost more than the workflows themselves).
    parties = await add_parties(sessions)
    bindings: dict[str, int] = {}
    for n, (facts, rule) in enumerate(PRECHECKS):
        cid = f"C-PRE{n}"
        await add_customer(sessions, cid, **facts)
        bindings[f"{rule}/{n}"] = await add_binding(sessions, customer_id=cid)
    handles = {
        key: await start(client, worker, change(b, parties.admin)) for key, b in bindings.items()
    }
    for key, h in handles.items():
        result = await finished(env, h)
        rule, index = key.split("/")
        assert result.status == S.REFUSED, key
        assert [r.rule for r in result.refusals] == [rule]
        assert (result.reason or "").startswith(f"customer C-PRE{index} ")
    await assert_nothing_recorded(sessions, mailbox)


async def test_switch_to_resale_is_refused_for_a_credit_account(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    parties = await add_parties(sessions, mode=AssociationMode.CONSULTING, has_credit_account=True)
    req = change(
        parties.binding_id, parties.admin, ChangeKind.SWITCH_MODE, to_mode=AssociationMode.RESALE
    )
    result = await finished(env, await start(client, worker, req))
    assert result.status == S.REFUSED
    assert [r.rule for r in result.refusals] == ["credit_account_no_resale"]
    await assert_nothing_recorded(sessions, mailbox)


async def test_frequency_limit_refuses_a_second_partner_request_with_the_date(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions, mailbox: MailSink
) -> None:
    parties = await add_parties(sessions)
    wf_id = f"binding-change-{parties.binding_id}-freq"
    first = await start(client, worker, change(parties.binding_id, parties.admin), wf_id)
    await wait_status(first, S.PENDING)
    await first.execute_update(UnbindingWorkflow.reject, Decision(actor=parties.customer))
    # Not `await first.result()`: awaiting a result lets the time-skipping server jump ahead
    # (years, with no timer pending), which would carry the first request out of the window.
    await wait_closed(first)
    again = await start(client, worker, change(parties.binding_id, parties.admin), wf_id)
    result = await finished(env, again)
    assert result.status == S.REFUSED
    assert [r.rule for r in result.refusals] == ["frequency_limit"]
    (row,) = await rows(sessions, BindingChangeRequest)  # the refused one recorded nothing
    possible = add_months(row.created_at, 3)
    assert f"next request is possible on {possible:%Y-%m-%d %H:%M} UTC" in (result.reason or "")
    # The customer's own allowance is separate: it may still ask to leave.
    own = await start(client, worker, change(parties.binding_id, parties.customer), wf_id)
    await wait_status(own, S.PENDING)
    await own.execute_update(UnbindingWorkflow.cancel, Decision(actor=parties.customer))
    await finished(env, own)


async def test_a_second_open_request_on_the_binding_is_refused_by_temporal(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions
) -> None:
    parties = await add_parties(sessions)
    wf_id = f"binding-change-{parties.binding_id}-open"
    first = await start(client, worker, change(parties.binding_id, parties.admin), wf_id)
    await wait_status(first, S.PENDING)
    with pytest.raises(WorkflowAlreadyStartedError) as err:
        await start(client, worker, change(parties.binding_id, parties.customer), wf_id)
    assert err.value.workflow_id == wf_id
    await first.execute_update(UnbindingWorkflow.cancel, Decision(actor=parties.admin))
    assert (await finished(env, first)).status == S.CANCELLED


async def test_only_the_bound_customer_may_decide(
    env: WorkflowEnvironment, client: Client, worker: Worker, sessions: Sessions
) -> None:
    parties = await add_parties(sessions)
    await add_customer(sessions, "C-2")
    h = await start(client, worker, change(parties.binding_id, parties.admin))
    await wait_status(h, S.PENDING)
    for actor in (customer_actor("C-2"), parties.admin, parties.staff):
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(UnbindingWorkflow.approve, Decision(actor=actor))
        assert "only customer C-1 may decide" in str(err.value.cause)
    assert (await h.query(UnbindingWorkflow.status)).decision is None
    await h.execute_update(UnbindingWorkflow.reject, Decision(actor=parties.customer))
    await finished(env, h)
    (binding,) = await rows(sessions, Binding)
    assert binding.status == "active"


async def test_balance_is_recovered_once_when_the_activity_is_retried(
    env: WorkflowEnvironment, client: Client, deps: Deps, sessions: Sessions
) -> None:
    parties = await add_parties(sessions, allocated="321.50")
    real = UnbindingActivities(deps.sessions)
    calls = 0

    # The first attempt commits and then "loses its connection": Temporal retries it.
    @activity.defn(name="recover_allocated_balance")
    async def flaky(req: RecoverBalance) -> RecoveryResult:
        nonlocal calls
        calls += 1
        result = await real.recover_allocated_balance(req)
        if calls == 1:
            raise ConnectionError("worker lost the database connection after the commit")
        return result

    activities = [
        flaky if getattr(a, "__name__", "") == "recover_allocated_balance" else a
        for a in build_activities(deps)
    ]
    queue = new_task_queue()
    async with Worker(client, task_queue=queue, workflows=ALL_WORKFLOWS, activities=activities):
        h = await client.start_workflow(
            UnbindingWorkflow.run,
            change(parties.binding_id, parties.admin),
            id=f"binding-change-{parties.binding_id}-retry",
            task_queue=queue,
        )
        await wait_status(h, S.PENDING)
        v = await h.execute_update(UnbindingWorkflow.approve, Decision(actor=parties.customer))
        await finished(env, h)
    assert calls == 2
    assert v.recovered_amount == Decimal("321.50")
    (recovery,) = await rows(sessions, BalanceRecovery)
    assert recovery.amount == Decimal("321.50")
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.allocated_balance) == ("ended", Decimal("0.00"))


async def test_the_approve_link_in_the_customers_email_approves_once(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    mailbox: MailSink,
    settings: Settings,
) -> None:
    parties: Parties = await add_parties(sessions)
    h = await start(client, worker, change(parties.binding_id, parties.admin))
    await wait_status(h, S.PENDING)
    (request_mail,) = mailbox.to(CUSTOMER_MAIL)
    match = re.search(r"Approve: (http://links\.test(/a/\S+))", request_mail.text())
    assert match is not None
    path = match.group(2)
    app = create_app(settings, client=client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://links.test") as web:
        page = await web.get(path)
        assert page.status_code == 200 and "confirm" in page.text.lower()
        assert (await h.query(UnbindingWorkflow.status)).decision is None  # GET decides nothing
        done = await web.post(path, data={"comment": "fine by us"})
        assert done.status_code == 200, done.text
        again = await web.post(path)
        assert again.status_code == 200 and "Already done" in again.text
    result = await finished(env, h)
    assert (result.status, result.decided_by, result.comment) == (S.APPROVED, "C-1", "fine by us")
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.ended_by) == ("ended", "C-1")
