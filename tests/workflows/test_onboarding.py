"""The onboarding workflow on the time-skipping server, with real activities, DB and SMTP."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invitations import InvitationRequest, InvitationStatus
from domain.onboarding import (
    AmountEntry,
    ApplicationForm,
    BusinessInfo,
    OnboardingRequest,
    OnboardingStatus,
    OnboardingView,
)
from domain.parties import Actor, Decision, PartnerType, Role
from domain.uscc import ALPHABET, check_character
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import (
    AgreementSignature,
    BankVerification,
    BankVerificationAttempt,
    Customer,
    HumanTask,
    OnboardingApplication,
    Partner,
    User,
)
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import eventually, finished, save_history
from workflows.invitation import InvitationWorkflow
from workflows.onboarding import OnboardingWorkflow

Sessions = async_sessionmaker[AsyncSession]
S = OnboardingStatus
Handle = WorkflowHandle[OnboardingWorkflow, OnboardingView]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The fake bank writes its statements into the test's directory."""
    return settings.model_copy(update={"fake_bank_dir": tmp_path / "bank"})


def new_uscc() -> str:
    """A fresh valid code, so that every test has its own workflow id."""
    body = "9144" + "".join(random.choice("0123456789") for _ in range(4))
    body += "".join(random.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


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

    def __init__(self, applicant: Actor, manager: Actor, ops: Actor) -> None:
        self.applicant, self.manager, self.ops = applicant, manager, ops


@pytest.fixture
async def people(sessions: Sessions) -> People:
    await add_customer(sessions, "C-APP", name="Acme Cloud Ltd.", email="boss@acme.test")
    manager = await add_user(sessions, "em-1", Role.ECOSYSTEM_MANAGER)
    ops = await add_user(sessions, "ops-1", Role.OPS)
    return People(customer_actor("C-APP"), manager, ops)


async def start(client: Client, worker: Worker, people: People, uscc: str | None = None) -> Handle:
    uscc = uscc or new_uscc()
    req = OnboardingRequest(
        form=ApplicationForm(
            company_name="Acme Cloud Ltd.",
            uscc=uscc,
            contact_email="boss@acme.test",
            contact_name="Zhang San",
            partner_type=PartnerType.SOLUTION_PROVIDER,
        ),
        submitted_by=people.applicant,
    )
    h = await client.start_workflow(
        OnboardingWorkflow.run, req, id=f"onboarding-{uscc}", task_queue=worker.task_queue
    )
    _started.append(h)
    return h


async def wait_status(h: Handle, status: OnboardingStatus) -> OnboardingView:
    async def check() -> OnboardingView:
        v = await h.query(OnboardingWorkflow.status)
        assert v.status == status, v.status
        return v

    return await eventually(check)


def info(h: Handle, actor: Actor, account: str = "6222000012345678", **kw: str) -> BusinessInfo:
    """Business information of the applying company (its tax id is its USCC)."""
    values = dict(
        company_name="Acme Cloud Ltd.",
        tax_id=h.id.removeprefix("onboarding-"),
        bank_name="ICBC Shenzhen",
        bank_account=account,
        account_holder="Acme Cloud Ltd.",
    )
    values.update(kw)
    return BusinessInfo(actor=actor, **values)


async def deposited(sessions: Sessions, h: Handle) -> Decimal:
    """The amount the fake bank deposited (the partner reads it on its statement)."""
    async with sessions() as s:
        row = await s.scalar(
            select(BankVerification)
            .where(BankVerification.application_key.startswith(h.id))
            .order_by(BankVerification.id.desc())
        )
    assert row is not None
    return row.amount


def nonce() -> str:
    return uuid.uuid4().hex


async def upd(h: Handle, update: Any, payload: Any) -> OnboardingView:
    result: OnboardingView = await h.execute_update(update, payload, id=nonce())
    return result


async def certify_bank(
    h: Handle, sessions: Sessions, p: People, account: str = "6222000012345678"
) -> OnboardingView:
    await wait_status(h, S.AWAITING_BUSINESS_INFO)
    v = await upd(h, OnboardingWorkflow.submit_business_info, info(h, p.applicant, account))
    assert v.status == S.AWAITING_AMOUNT and v.bank_account == "****" + account[-4:]
    amount = await deposited(sessions, h)
    return await upd(
        h, OnboardingWorkflow.enter_amount, AmountEntry(actor=p.applicant, amount=amount)
    )


def decision(actor: Actor, comment: str | None = None) -> Decision:
    return Decision(actor=actor, comment=comment, nonce=nonce())


async def sign_both(h: Handle, p: People) -> OnboardingView:
    await upd(h, OnboardingWorkflow.sign_partner_agreement, decision(p.applicant))
    return await upd(h, OnboardingWorkflow.sign_integrity_commitment, decision(p.applicant))


async def test_happy_path_makes_an_active_partner_that_can_invite(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
    settings: Settings,
) -> None:
    await add_partner(sessions, "P-OLD", uscc="91350100M000100Y43")  # another company
    h = await start(client, worker, people)
    v = await certify_bank(h, sessions, people)
    assert v.status == S.IN_REVIEW
    v = await wait_status(h, S.IN_REVIEW)
    assert v.review_due_at is not None and v.existing_partners == []
    v = await upd(h, OnboardingWorkflow.review_approve, decision(people.manager))
    assert v.status == S.AWAITING_SIGNATURES and v.business_certified
    await wait_status(h, S.AWAITING_SIGNATURES)
    v = await upd(h, OnboardingWorkflow.sign_partner_agreement, decision(people.applicant))
    assert v.signatures == ["partner_agreement"] and v.status == S.AWAITING_SIGNATURES
    v = await upd(h, OnboardingWorkflow.sign_integrity_commitment, decision(people.applicant))
    assert v.status == S.AWAITING_APPROVAL
    await wait_status(h, S.AWAITING_APPROVAL)
    v = await upd(h, OnboardingWorkflow.approve, decision(people.manager))
    assert v.status == S.APPROVED and v.partner_id == f"P-{v.uscc}"
    result = await finished(env, h)
    assert result.status == S.APPROVED and result.admin_user_id == f"P-{v.uscc}-admin"
    await save_history(h, "onboarding-approved")

    async with sessions() as s:
        partner = await s.get(Partner, result.partner_id)
        admin = await s.get(User, result.admin_user_id)
        app = await s.scalar(select(OnboardingApplication))
        customer = await s.get(Customer, "C-APP")
        signed = (await s.scalars(select(AgreementSignature.agreement))).all()
        open_tasks = await s.scalar(
            select(func.count()).select_from(HumanTask).where(HumanTask.status == "open")
        )
    assert partner is not None and partner.status == "ACTIVE" and partner.business_certified
    assert partner.company_name == "Acme Cloud Ltd." and partner.type == "solution_provider"
    assert admin is not None and admin.role == "partner_admin" and admin.email == "boss@acme.test"
    assert admin.name == "Zhang San" and admin.partner_id == partner.id
    assert app is not None and app.status == "APPROVED" and app.business_certified_at is not None
    assert customer is not None and customer.is_partner_or_applicant  # it is a partner now
    assert sorted(signed) == ["integrity_commitment", "partner_agreement"]
    assert open_tasks == 0
    subjects = [m.subject for m in mailbox.to("boss@acme.test")]
    assert subjects[0].startswith("Application received")
    assert any("Enter the amount" in s for s in subjects)
    assert any(s.startswith("Sign the partner agreements") for s in subjects)
    assert subjects[-1].startswith("Welcome to the partner programme")
    assert any(
        "To decide: business-information review" in m.subject for m in mailbox.to("em-1@users.test")
    )
    assert (settings.fake_bank_dir / "6222000012345678.txt").exists()

    # The new partner's admin invites a customer: the invitation workflow accepts it.
    await add_customer(sessions, "C-NEW")
    admin_actor = Actor(
        user_id=admin.id, role=Role.PARTNER_ADMIN, partner_id=partner.id, email=admin.email
    )
    inv = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id=partner.id, customer_id="C-NEW", requested_by=admin_actor),
        id=f"invitation-{partner.id}-C-NEW",
        task_queue=worker.task_queue,
    )

    async def pending() -> None:
        iv = await inv.query(InvitationWorkflow.status)
        assert iv.status == InvitationStatus.PENDING, iv

    await eventually(pending)
    await inv.execute_update(InvitationWorkflow.cancel, decision(admin_actor))
    assert (await finished(env, inv)).status == InvitationStatus.CANCELLED


async def test_existing_account_shown_to_the_reviewer_and_final_rejection_with_reason(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
) -> None:
    # A company may own several partner accounts: the existing one is flagged, not refused.
    uscc = new_uscc()
    await add_partner(sessions, "P-SAME", uscc=uscc)
    h = await start(client, worker, people, uscc)
    v = await certify_bank(h, sessions, people)
    assert [p.id for p in v.existing_partners] == ["P-SAME"]

    async def flagged() -> None:
        msgs = mailbox.to("em-1@users.test")
        assert msgs and "already has partner account(s) P-SAME" in msgs[-1].text()
        async with sessions() as s:
            task = await s.scalar(select(HumanTask).where(HumanTask.kind == "onboarding_review"))
        assert task is not None and "P-SAME" in task.title

    await eventually(flagged)
    await upd(h, OnboardingWorkflow.review_approve, decision(people.manager))
    await wait_status(h, S.AWAITING_SIGNATURES)
    await sign_both(h, people)
    await wait_status(h, S.AWAITING_APPROVAL)
    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await upd(h, OnboardingWorkflow.reject, decision(people.manager))
    assert "needs a reason" in str(no_reason.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as not_manager:
        await upd(h, OnboardingWorkflow.approve, decision(people.applicant))
    assert "only an ecosystem manager" in str(not_manager.value.cause)
    v = await upd(h, OnboardingWorkflow.reject, decision(people.manager, "no cloud practice"))
    assert v.status == S.REJECTED and v.reason == "no cloud practice"
    result = await finished(env, h)
    assert result.status == S.REJECTED
    await save_history(h, "onboarding-rejected")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Partner)) == 1  # P-SAME only
        customer = await s.get(Customer, "C-APP")
        assert customer is not None and not customer.is_partner_or_applicant  # released
    last = mailbox.to("boss@acme.test")[-1]
    assert "rejected" in last.subject and "no cloud practice" in last.text()


async def test_review_rejection_then_resubmission(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
) -> None:
    h = await start(client, worker, people)
    await certify_bank(h, sessions, people)
    await wait_status(h, S.IN_REVIEW)
    v = await upd(
        h, OnboardingWorkflow.review_reject, decision(people.manager, "registered address missing")
    )
    assert v.status == S.CHANGES_REQUESTED and v.reason == "registered address missing"
    assert "registered address missing" in mailbox.to("boss@acme.test")[-1].text()
    # Same, already verified account: straight back to review, no new deposit.
    resubmitted = info(h, people.applicant, registered_address="1 Keji Road, Shenzhen")
    v = await upd(h, OnboardingWorkflow.submit_business_info, resubmitted)
    assert v.status == S.IN_REVIEW and v.reason is None
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(BankVerification)) == 1

    async def second_round() -> None:
        async with sessions() as s:
            keys = (
                await s.scalars(
                    select(HumanTask.idempotency_key).where(HumanTask.kind == "onboarding_review")
                )
            ).all()
        assert len(keys) == 2, keys

    await eventually(second_round)
    await upd(h, OnboardingWorkflow.withdraw, decision(people.applicant, "changed our plans"))
    assert (await finished(env, h)).status == S.WITHDRAWN


async def test_bank_amount_locks_after_three_wrong_entries_until_ops_unlocks(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
) -> None:
    h = await start(client, worker, people)
    await wait_status(h, S.AWAITING_BUSINESS_INFO)
    await upd(h, OnboardingWorkflow.submit_business_info, info(h, people.applicant))
    right = await deposited(sessions, h)
    wrong = AmountEntry(actor=people.applicant, amount=Decimal("1.23"))  # deposits are < 1
    v = await upd(h, OnboardingWorkflow.enter_amount, wrong)
    assert v.status == S.AWAITING_AMOUNT and v.bank_entries_left == 2
    await upd(h, OnboardingWorkflow.enter_amount, wrong)
    v = await upd(h, OnboardingWorkflow.enter_amount, wrong)
    assert v.status == S.BANK_LOCKED and v.bank_wrong_entries == 3
    with pytest.raises(WorkflowUpdateFailedError) as locked:
        await upd(
            h, OnboardingWorkflow.enter_amount, AmountEntry(actor=people.applicant, amount=right)
        )
    assert "locked after 3 wrong entries" in str(locked.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as not_ops:
        await upd(h, OnboardingWorkflow.unlock, decision(people.manager))
    assert "only ops may unlock" in str(not_ops.value.cause)
    assert any("Unlock requested" in m.subject for m in mailbox.to("ops-1@users.test"))
    v = await upd(h, OnboardingWorkflow.unlock, decision(people.ops, "called the applicant"))
    assert v.status == S.AWAITING_AMOUNT and v.bank_entries_left == 3
    v = await upd(
        h, OnboardingWorkflow.enter_amount, AmountEntry(actor=people.applicant, amount=right)
    )
    assert v.status == S.IN_REVIEW
    async with sessions() as s:
        attempts = (await s.scalars(select(BankVerificationAttempt.matched))).all()
        ver = await s.scalar(select(BankVerification))
    assert attempts == [False, False, False, True]
    assert ver is not None and ver.status == "verified" and ver.unlocked_by == "ops-1"
    await wait_status(h, S.IN_REVIEW)
    await upd(h, OnboardingWorkflow.withdraw, decision(people.ops, "test over"))
    assert (await finished(env, h)).status == S.WITHDRAWN


async def test_one_open_application_per_company_and_withdrawal(
    env: WorkflowEnvironment,
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
) -> None:
    uscc = new_uscc()
    h = await start(client, worker, people, uscc)
    await wait_status(h, S.AWAITING_BUSINESS_INFO)
    with pytest.raises(WorkflowAlreadyStartedError):
        await start(client, worker, people, uscc)
    with pytest.raises(WorkflowUpdateFailedError) as stranger:
        await upd(h, OnboardingWorkflow.withdraw, decision(people.manager))
    assert "only the applicant C-APP" in str(stranger.value.cause)
    v = await upd(h, OnboardingWorkflow.withdraw, decision(people.applicant))
    assert v.status == S.WITHDRAWN
    # A repeated withdrawal returns the first result.
    again = await upd(h, OnboardingWorkflow.withdraw, decision(people.applicant))
    assert again.status == S.WITHDRAWN and again.reason == v.reason
    result = await finished(env, h)
    assert result.status == S.WITHDRAWN
    await save_history(h, "onboarding-withdrawn")
    async with sessions() as s:
        tasks = (await s.scalars(select(HumanTask))).all()
        customer = await s.get(Customer, "C-APP")
    assert [(t.kind, t.status) for t in tasks] == [("onboarding_business_info", "cancelled")]
    assert customer is not None and not customer.is_partner_or_applicant
    assert "withdrawn" in mailbox.to("boss@acme.test")[-1].subject
    # After the first one ended, the company may apply again.
    second = await start(client, worker, people, uscc)
    await wait_status(second, S.AWAITING_BUSINESS_INFO)
    await upd(second, OnboardingWorkflow.withdraw, decision(people.applicant))
    assert (await finished(env, second)).status == S.WITHDRAWN


async def test_agreements_lapse_after_30_days_with_reminders(
    client: Client, worker: Worker, sessions: Sessions, people: People, mailbox: MailSink
) -> None:
    h = await start(client, worker, people)
    await certify_bank(h, sessions, people)
    await wait_status(h, S.IN_REVIEW)
    await upd(h, OnboardingWorkflow.review_approve, decision(people.manager))
    await wait_status(h, S.AWAITING_SIGNATURES)
    await upd(h, OnboardingWorkflow.sign_partner_agreement, decision(people.applicant))
    result = await h.result()  # time skips through the window
    assert result.status == S.EXPIRED
    assert "not signed within 30 days" in (result.reason or "")
    assert result.signatures_due_at is not None
    subjects = [m.subject for m in mailbox.to("boss@acme.test")]
    reminders = [m for m in mailbox.to("boss@acme.test") if m.subject.startswith("Reminder")]
    assert len(reminders) == 2, subjects
    # The reminders ask only for what is still unsigned.
    assert "Integrity Commitment" in reminders[0].text()
    assert "Sign the Partner Agreement" not in reminders[0].text()
    assert subjects[-1].endswith("expired")
    async with sessions() as s:
        sign_task = await s.scalar(select(HumanTask).where(HumanTask.kind == "onboarding_sign"))
    assert sign_task is not None and sign_task.status == "expired"
    await save_history(h, "onboarding-expired")


async def test_review_reminder_at_due_and_escalation_to_ops(
    client: Client,
    worker: Worker,
    sessions: Sessions,
    people: People,
    mailbox: MailSink,
    env: WorkflowEnvironment,
) -> None:
    h = await start(client, worker, people)
    await certify_bank(h, sessions, people)
    v = await wait_status(h, S.IN_REVIEW)

    async def requested() -> None:
        assert any("To decide" in m.subject for m in mailbox.to("em-1@users.test"))

    await eventually(requested)
    assert v.review_due_at is not None
    now = await env.get_current_time()
    await env.sleep(v.review_due_at - now + timedelta(minutes=1))

    async def reminded() -> None:
        assert any(m.subject.startswith("Reminder") for m in mailbox.to("em-1@users.test"))

    await eventually(reminded)
    with pytest.raises(WorkflowUpdateFailedError) as too_early:
        await upd(h, OnboardingWorkflow.review_approve, decision(people.ops))
    assert "ops too once the task is escalated" in str(too_early.value.cause)
    await env.sleep(timedelta(days=2))

    async def escalated() -> None:
        assert (await h.query(OnboardingWorkflow.status)).escalated
        async with sessions() as s:
            task = await s.scalar(select(HumanTask).where(HumanTask.kind == "onboarding_review"))
        assert task is not None and task.assignee_role == "ops" and task.status == "open"

    await eventually(escalated)
    assert any(m.subject.startswith("Escalated") for m in mailbox.to("ops-1@users.test"))
    v = await upd(h, OnboardingWorkflow.review_approve, decision(people.ops))
    assert v.status == S.AWAITING_SIGNATURES
    await upd(h, OnboardingWorkflow.withdraw, decision(people.applicant))
    await finished(env, h)
