"""The development path workflow on the time-skipping server, with real activities."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.certification import (
    CertificationAsk,
    CertLevel,
    DevelopmentPath,
    PathInvitation,
    PathStatus,
    PathView,
)
from domain.parties import Actor, Decision, Role
from infra.smtp_sink import MailSink
from infra.tables import (
    CloudServiceCase,
    HumanTask,
    Partner,
    PathCertification,
    PathMembership,
    StaffCertificateRow,
)
from tests.factories import add_partner, add_user
from tests.harness import eventually, finished, save_history
from workflows.development_path import DevelopmentPathWorkflow

Sessions = async_sessionmaker[AsyncSession]
S = PathStatus
Handle = WorkflowHandle[DevelopmentPathWorkflow, PathView]
USCC = "91440300708461136T"


# Workflows a test started; one that a failing test leaves running would stall the shared
# time-skipping clock for the tests after it, so it is terminated at teardown.
_started: list[Handle] = []


@pytest.fixture(autouse=True)
async def _terminate_leftovers() -> AsyncIterator[None]:
    yield
    while _started:
        h = _started.pop()
        desc = await h.describe()
        if desc.status == WorkflowExecutionStatus.RUNNING:
            await h.terminate("left running by a failed test")


class People:
    """The actors of a test."""

    def __init__(self, admin: Actor, manager: Actor, ops: Actor) -> None:
        self.admin, self.manager, self.ops = admin, manager, ops


@pytest.fixture
async def people(sessions: Sessions) -> People:
    await add_partner(sessions, "P-A", uscc=USCC)
    admin = await add_user(sessions, "pa-a", Role.PARTNER_ADMIN, partner_id="P-A")
    manager = await add_user(sessions, "em-1", Role.ECOSYSTEM_MANAGER)
    ops = await add_user(sessions, "ops-1", Role.OPS)
    return People(admin, manager, ops)


async def invite(
    client: Client, worker: Worker, inviter: Actor, path: DevelopmentPath, partner: str = "P-A"
) -> Handle:
    h = await client.start_workflow(
        DevelopmentPathWorkflow.run,
        PathInvitation(partner_id=partner, path=path, invited_by=inviter),
        id=f"path-{partner}-{path.value}-{uuid.uuid4().hex[:6]}",
        task_queue=worker.task_queue,
    )
    _started.append(h)
    return h


async def wait_status(h: Handle, status: PathStatus) -> PathView:
    async def check() -> PathView:
        v = await h.query(DevelopmentPathWorkflow.status)
        assert v.status == status, v
        return v

    return await eventually(check)


def decision(actor: Actor, comment: str | None = None) -> Decision:
    return Decision(actor=actor, comment=comment, nonce=uuid.uuid4().hex)


async def upd(h: Handle, update_: Any, payload: Any) -> PathView:
    result: PathView = await h.execute_update(update_, payload, id=uuid.uuid4().hex)
    return result


async def ask(h: Handle, actor: Actor, level: CertLevel) -> PathView:
    return await upd(
        h, DevelopmentPathWorkflow.request_certification, CertificationAsk(actor=actor, level=level)
    )


async def refused(h: Handle, actor: Actor, level: CertLevel) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await ask(h, actor, level)
    return str(err.value.cause)


async def set_solutions(sessions: Sessions, certified: int, advanced: int) -> None:
    async with sessions.begin() as s:
        await s.execute(
            update(Partner)
            .where(Partner.id == "P-A")
            .values(certified_solutions=certified, advanced_solutions=advanced)
        )


async def test_software_path_role_then_differentiation(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
) -> None:
    h = await invite(client, worker, people.manager, DevelopmentPath.SOFTWARE)
    await wait_status(h, S.INVITED)

    async def invited() -> Any:
        assert mailbox.to("p-a@partner.test")
        return mailbox.to("p-a@partner.test")[0]

    invitation = await eventually(invited)
    assert "join the Software Partner Path" in invitation.subject
    assert "http://links.test/a/" in invitation.text()
    with pytest.raises(WorkflowUpdateFailedError) as not_admin:
        await upd(h, DevelopmentPathWorkflow.join, decision(people.manager))
    assert "only an admin of partner P-A" in str(not_admin.value.cause)
    v = await upd(h, DevelopmentPathWorkflow.join, decision(people.admin))
    assert v.status == S.JOINED

    # Below the threshold: refused with what is missing, nothing recorded.
    why = await refused(h, people.admin, CertLevel.ROLE)
    assert "role certification on the software path is refused" in why
    assert "needs >= 1 certified cloud software solution(s); partner P-A has 0" in why
    assert "comes after role" in await refused(h, people.admin, CertLevel.DIFFERENTIATION)
    # Ops records a certified solution; at the threshold the manager approves.
    await set_solutions(sessions, 1, 0)
    v = await ask(h, people.admin, CertLevel.ROLE)
    assert v.pending_step == "certification:role" and v.requests[-1].status == "pending"
    with pytest.raises(WorkflowUpdateFailedError) as busy:
        await ask(h, people.admin, CertLevel.ROLE)
    assert "awaits the ecosystem manager" in str(busy.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as not_manager:
        await upd(h, DevelopmentPathWorkflow.approve, decision(people.admin))
    assert "only an ecosystem manager" in str(not_manager.value.cause)
    v = await upd(h, DevelopmentPathWorkflow.approve, decision(people.manager))
    assert v.certified == [CertLevel.ROLE] and v.status == S.JOINED and v.pending_step is None
    # A repeated approval returns the first result and changes nothing.
    again = await upd(h, DevelopmentPathWorkflow.approve, decision(people.manager))
    assert again.certified == [CertLevel.ROLE]
    # Leaving is possible only before role certification.
    with pytest.raises(WorkflowUpdateFailedError) as cannot_leave:
        await upd(h, DevelopmentPathWorkflow.leave, decision(people.admin))
    assert "only before role certification" in str(cannot_leave.value.cause)

    why = await refused(h, people.admin, CertLevel.DIFFERENTIATION)
    assert "needs >= 1 advanced certified solution(s); partner P-A has 0" in why
    await set_solutions(sessions, 2, 1)
    await ask(h, people.admin, CertLevel.DIFFERENTIATION)
    v = await upd(h, DevelopmentPathWorkflow.approve, decision(people.manager))
    assert v.status == S.COMPLETED
    result = await finished(env, h)
    assert result.certified == [CertLevel.ROLE, CertLevel.DIFFERENTIATION]
    await save_history(h, "development_path-completed")
    async with sessions() as s:
        certs = (await s.scalars(select(PathCertification).order_by(PathCertification.id))).all()
        membership = await s.scalar(select(PathMembership))
        tasks = (await s.scalars(select(HumanTask.status))).all()
    assert [(c.level, c.status, c.decided_by) for c in certs] == [
        ("role", "certified", "em-1"),
        ("differentiation", "certified", "em-1"),
    ]
    assert membership is not None and membership.status == "completed"
    assert set(tasks) == {"done"}
    assert sum("Certified:" in m.subject for m in mailbox.to("p-a@partner.test")) == 2


async def test_service_path_rule_and_once_per_company(
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
    env: WorkflowEnvironment,
) -> None:
    h = await invite(client, worker, people.ops, DevelopmentPath.SERVICE)
    await wait_status(h, S.INVITED)
    await upd(h, DevelopmentPathWorkflow.join, decision(people.admin))
    why = await refused(h, people.admin, CertLevel.ROLE)
    assert "held by >= 2 person(s)" in why and "cloud service case" in why

    today = (await env.get_current_time()).date()  # the shared test clock skips ahead
    async with sessions.begin() as s:
        for n, (holder, kind) in enumerate(
            [("li", "HCSA"), ("li", "HCSP"), ("li", "HCIA"), ("wu", "HCIP")], start=1
        ):
            s.add(
                StaffCertificateRow(
                    partner_id="P-A",
                    holder=holder,
                    kind=kind,
                    number=f"N{n}",
                    recorded_by="ops-1",
                    recorded_at=_now(),
                )
            )
        s.add(
            CloudServiceCase(
                partner_id="P-A",
                case_id="K-1",
                title="ERP migration",
                completed_on=today - timedelta(days=400),
                recorded_by="ops-1",
                recorded_at=_now(),
            )
        )
    why = await refused(h, people.admin, CertLevel.ROLE)
    assert "3 count: 1 more" in why and "0 recorded" in why and "persons" not in why
    async with sessions.begin() as s:
        s.add(
            StaffCertificateRow(
                partner_id="P-A",
                holder="wu",
                kind="HCIA",
                number="N9",
                recorded_by="ops-1",
                recorded_at=_now(),
            )
        )
        s.add(
            CloudServiceCase(
                partner_id="P-A",
                case_id="K-2",
                title="Data lake",
                completed_on=today - timedelta(days=20),
                recorded_by="ops-1",
                recorded_at=_now(),
            )
        )
    await ask(h, people.admin, CertLevel.ROLE)
    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await upd(h, DevelopmentPathWorkflow.reject, decision(people.manager))
    assert "needs a reason" in str(no_reason.value.cause)
    v = await upd(h, DevelopmentPathWorkflow.reject, decision(people.manager, "case not audited"))
    assert v.requests[-1].status == "rejected" and v.certified == []
    assert "case not audited" in mailbox.to("p-a@partner.test")[-1].text()
    await ask(h, people.admin, CertLevel.ROLE)
    v = await upd(h, DevelopmentPathWorkflow.approve, decision(people.manager))
    assert v.status == S.COMPLETED  # the service path has role certification only
    await finished(env, h)

    # Another account of the same company may not choose the service path too.
    await add_partner(sessions, "P-B", uscc=USCC)
    await add_user(sessions, "pa-b", Role.PARTNER_ADMIN, partner_id="P-B")
    other = await invite(client, worker, people.manager, DevelopmentPath.SERVICE, "P-B")
    result = await finished(env, other)
    assert result.status == S.REFUSED
    assert "chosen once per company" in (result.reason or "") and "P-A" in (result.reason or "")


async def test_software_path_again_in_the_company_needs_approval_and_leave(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
) -> None:
    first = await invite(client, worker, people.manager, DevelopmentPath.SOFTWARE)
    await wait_status(first, S.INVITED)
    await upd(first, DevelopmentPathWorkflow.join, decision(people.admin))
    await add_partner(sessions, "P-B", uscc=USCC)
    admin_b = await add_user(sessions, "pa-b", Role.PARTNER_ADMIN, partner_id="P-B")
    second = await invite(client, worker, people.manager, DevelopmentPath.SOFTWARE, "P-B")
    await wait_status(second, S.INVITED)
    v = await upd(second, DevelopmentPathWorkflow.join, decision(admin_b))
    assert v.status == S.AWAITING_JOIN_APPROVAL and v.others_on_path == ["P-A"]

    async def asked() -> None:
        assert any(
            "choosing the Software Partner Path again" in m.subject
            for m in mailbox.to("em-1@users.test")
        )

    await eventually(asked)
    v = await upd(second, DevelopmentPathWorkflow.approve, decision(people.manager))
    assert v.status == S.JOINED
    v = await upd(second, DevelopmentPathWorkflow.leave, decision(admin_b, "focus on services"))
    assert v.status == S.LEFT
    assert (await finished(env, second)).status == S.LEFT
    await save_history(second, "development_path-left")
    async with sessions() as s:
        rows = (await s.scalars(select(PathMembership).order_by(PathMembership.id))).all()
    assert [(m.partner_id, m.status) for m in rows] == [("P-A", "joined"), ("P-B", "left")]
    await upd(first, DevelopmentPathWorkflow.leave, decision(people.admin))
    await finished(env, first)


async def test_invitation_expires(
    client: Client, worker: Worker, sessions: Sessions, people: People, mailbox: MailSink
) -> None:
    h = await invite(client, worker, people.manager, DevelopmentPath.SOFTWARE)
    result = await h.result()  # time skips past the 7-day validity
    assert result.status == S.EXPIRED
    await save_history(h, "development_path-expired")
    async with sessions() as s:
        task = await s.scalar(select(HumanTask))
    assert task is not None and task.kind == "path_join" and task.status == "expired"
    assert mailbox.to("p-a@partner.test")[-1].subject.endswith("expired")


async def test_only_the_vendor_invites_and_only_active_partners(
    client: Client, worker: Worker, sessions: Sessions, people: People
) -> None:
    by_partner = await (
        await invite(client, worker, people.admin, DevelopmentPath.SOFTWARE)
    ).result()
    assert by_partner.status == S.REFUSED and "may not invite" in (by_partner.reason or "")
    await add_partner(sessions, "P-S", status="SUSPENDED")
    await add_user(sessions, "pa-s", Role.PARTNER_ADMIN, partner_id="P-S")
    suspended = await (
        await invite(client, worker, people.manager, DevelopmentPath.SOFTWARE, "P-S")
    ).result()
    assert suspended.status == S.REFUSED and "only ACTIVE partners" in (suspended.reason or "")
    async with sessions() as s:
        assert (await s.scalars(select(HumanTask))).all() == []


async def test_checked_answers_a_starter_once_invited_or_refused(
    client: Client, worker: Worker, sessions: Sessions, people: People
) -> None:
    """What `path invite` does: start and wait for the first checks in one call."""

    async def start(inviter: Actor) -> tuple[PathView, Handle]:
        op = WithStartWorkflowOperation(
            DevelopmentPathWorkflow.run,
            PathInvitation(partner_id="P-A", path=DevelopmentPath.SOFTWARE, invited_by=inviter),
            id=f"path-P-A-checked-{uuid.uuid4().hex[:6]}",
            task_queue=worker.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        view = await client.execute_update_with_start_workflow(
            DevelopmentPathWorkflow.checked, start_workflow_operation=op
        )
        h = await op.workflow_handle()
        _started.append(h)
        return view, h

    # Refused at creation: the run ends at once, but only after the update has answered.
    view, h = await start(people.admin)
    assert view.status == S.REFUSED and "may not invite" in (view.reason or ""), view
    assert (await h.result()).status == S.REFUSED
    view, h = await start(people.manager)
    assert view.status == S.INVITED and view.expires_at is not None, view

    async def join_task_opened() -> None:
        # The update answers as the status changes; the invitation's own steps finish after.
        async with sessions() as s:
            assert len((await s.scalars(select(HumanTask))).all()) == 1

    await eventually(join_task_opened)


def _now() -> Any:
    from infra.db import utcnow

    return utcnow()
