"""Onboarding and path activities run twice with the same key: one row, one deposit."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.onboarding import (
    DevelopmentPathActivities,
    FakeBankVerifier,
    OnboardingActivities,
    bank_verifier_for,
)
from domain.certification import DevelopmentPath
from domain.onboarding import Agreement, ApplicationForm, OnboardingStatus
from domain.onboarding_models import (
    ActivatePartner,
    CheckAmount,
    JoinPath,
    RecordApplication,
    RecordCertification,
    RecordSignature,
    ReleaseApplicant,
    StartDeposit,
    UnlockBank,
)
from domain.parties import PartnerType, Role
from infra.tables import (
    AgreementSignature,
    BankVerification,
    BankVerificationAttempt,
    Customer,
    Partner,
    PathCertification,
    PathMembership,
    User,
)
from tests.factories import add_customer, add_partner, customer_actor

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
USCC = "91440300708461136T"
APP = f"onboarding-{USCC}/run-1"


async def count(sessions: Sessions, table: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def application(
    sessions: Sessions, tmp_path: Path
) -> tuple[OnboardingActivities, FakeBankVerifier]:
    """The activities object as the registry builds it, and a recorded application."""
    bank = FakeBankVerifier(tmp_path / "bank")
    acts = OnboardingActivities(sessions, bank)
    await add_customer(sessions, "C-APP")
    req = RecordApplication(
        run_key=APP,
        workflow_id=APP.split("/")[0],
        form=ApplicationForm(
            company_name="Acme Cloud Ltd.",
            uscc=USCC,
            contact_email="boss@acme.test",
            contact_name="Zhang San",
            partner_type=PartnerType.SOLUTION_PROVIDER,
        ),
        submitted_by=customer_actor("C-APP"),
        status=OnboardingStatus.AWAITING_BUSINESS_INFO,
        at=NOW,
    )
    await acts.record_application(req)
    await acts.record_application(req)
    return acts, bank


def deposit(key: str = f"{APP}:bank:1") -> StartDeposit:
    return StartDeposit(
        key=key,
        application_key=APP,
        bank_name="ICBC",
        bank_account="6222000012345678",
        account_holder="Acme Cloud Ltd.",
        at=NOW,
    )


async def test_deposit_twice_is_one_row_and_one_deposit(
    db_kind: str, sessions: Sessions, tmp_path: Path
) -> None:
    acts, bank = await application(sessions, tmp_path)
    first = await acts.start_bank_deposit(deposit())
    again = await acts.start_bank_deposit(deposit())
    assert first == again and first.masked_account == "****5678"
    assert await count(sessions, BankVerification) == 1
    async with sessions() as s:
        row = await s.scalar(select(BankVerification))
        customer = await s.get(Customer, "C-APP")
    assert row is not None and Decimal("0.01") <= row.amount <= Decimal("0.99")
    assert bank.deposits == {f"{APP}:bank:1": ("6222000012345678", row.amount)}
    statement = (tmp_path / "bank" / "6222000012345678.txt").read_text()
    assert statement.count(first.bank_reference) == 1 and f"credit {row.amount} CNY" in statement
    assert customer is not None and customer.is_partner_or_applicant  # applying now


async def test_three_wrong_entries_lock_and_ops_unlocks(
    db_kind: str, sessions: Sessions, tmp_path: Path
) -> None:
    acts, _ = await application(sessions, tmp_path)
    await acts.start_bank_deposit(deposit())
    async with sessions() as s:
        right = await s.scalar(select(BankVerification.amount))
    assert right is not None

    def entry(n: int, amount: Decimal) -> CheckAmount:
        return CheckAmount(
            key=f"{APP}:entry:{n}",
            verification_key=f"{APP}:bank:1",
            amount=amount,
            entered_by="C-APP",
            at=NOW,
            max_wrong_entries=3,
        )

    wrong = Decimal("5.00")
    first = await acts.check_bank_amount(entry(1, wrong))
    retried = await acts.check_bank_amount(entry(1, wrong))  # the same entry counts once
    assert first == retried and first.wrong_entries == 1 and not first.locked
    await acts.check_bank_amount(entry(2, wrong))
    third = await acts.check_bank_amount(entry(3, wrong))
    assert third.locked and third.wrong_entries == 3
    with pytest.raises(ApplicationError) as locked:
        await acts.check_bank_amount(entry(4, right))
    assert locked.value.type == "InvalidStateError" and locked.value.non_retryable
    unlock = UnlockBank(verification_key=f"{APP}:bank:1", by="ops-1", at=NOW)
    await acts.unlock_bank(unlock)
    await acts.unlock_bank(unlock)
    ok = await acts.check_bank_amount(entry(5, right))
    assert ok.matched and ok.wrong_entries == 0
    async with sessions() as s:
        ver = await s.scalar(select(BankVerification))
    assert ver is not None and ver.status == "verified" and ver.unlocked_by == "ops-1"
    assert await count(sessions, BankVerificationAttempt) == 4


async def test_activation_twice_is_one_partner_and_one_admin(
    db_kind: str, sessions: Sessions, tmp_path: Path
) -> None:
    await add_partner(sessions, f"P-{USCC}", uscc=USCC)  # the company's first account
    acts, _ = await application(sessions, tmp_path)
    req = ActivatePartner(application_key=APP, at=NOW, decided_by="em-1")
    first = await acts.activate_partner(req)
    again = await acts.activate_partner(req)
    assert first == again
    assert first.partner_id == f"P-{USCC}-2" and first.admin_user_id == f"P-{USCC}-2-admin"
    async with sessions() as s:
        partner = await s.get(Partner, first.partner_id)
        admin = await s.get(User, first.admin_user_id)
    assert partner is not None and partner.status == "ACTIVE" and partner.business_certified
    assert admin is not None and admin.role == Role.PARTNER_ADMIN.value
    assert admin.email == "boss@acme.test" and admin.name == "Zhang San"
    assert await count(sessions, Partner) == 2 and await count(sessions, User) == 1


async def test_signature_twice_is_one_row_and_release_clears_only_our_flag(
    db_kind: str, sessions: Sessions, tmp_path: Path
) -> None:
    acts, _ = await application(sessions, tmp_path)
    sig = RecordSignature(
        application_key=APP, agreement=Agreement.INTEGRITY_COMMITMENT, signed_by="C-APP", at=NOW
    )
    await acts.record_signature(sig)
    await acts.record_signature(sig)
    assert await count(sessions, AgreementSignature) == 1
    await acts.release_applicant(ReleaseApplicant(application_key=APP))
    async with sessions.begin() as s:
        customer = await s.get(Customer, "C-APP")
        assert customer is not None and not customer.is_partner_or_applicant
        customer.is_partner_or_applicant = True  # flagged again for another reason
    await acts.release_applicant(ReleaseApplicant(application_key=APP))
    async with sessions() as s:
        customer = await s.get(Customer, "C-APP")
    assert customer is not None and customer.is_partner_or_applicant


def join(partner: str, path: DevelopmentPath, n: int = 1) -> JoinPath:
    return JoinPath(
        key=f"path-{partner}-{path.value}/run-{n}:membership",
        workflow_id=f"path-{partner}-{path.value}",
        partner_id=partner,
        path=path,
        at=NOW,
    )


async def test_company_path_rules_in_the_database(db_kind: str, sessions: Sessions) -> None:
    for pid in ("P-A", "P-B"):
        await add_partner(sessions, pid, uscc=USCC)
    paths = DevelopmentPathActivities(sessions)
    service = DevelopmentPath.SERVICE
    first = await paths.join_path(join("P-A", service))
    again = await paths.join_path(join("P-A", service))
    assert first.status == again.status == "joined"
    refused = await paths.join_path(join("P-B", service))
    assert refused.status == "refused" and "once per company" in (refused.reason or "")
    software = DevelopmentPath.SOFTWARE
    assert (await paths.join_path(join("P-A", software))).status == "joined"
    second = await paths.join_path(join("P-B", software))
    assert second.status == "pending_approval" and second.others_on_path == ["P-A"]
    assert await count(sessions, PathMembership) == 3


async def test_certification_record_twice_is_one_row(db_kind: str, sessions: Sessions) -> None:
    await add_partner(sessions, "P-A", uscc=USCC)
    paths = DevelopmentPathActivities(sessions)
    req = RecordCertification(
        key="path-P-A-software/r:certification:1",
        workflow_id="w",
        partner_id="P-A",
        path=DevelopmentPath.SOFTWARE,
        level="role",
        status="pending",
        requested_by="pa-a",
        requested_at=NOW,
    )
    await paths.record_certification(req)
    await paths.record_certification(req)
    done = req.model_copy(update={"status": "certified", "decided_by": "em-1", "decided_at": NOW})
    await paths.record_certification(done)
    await paths.record_certification(done)
    async with sessions() as s:
        rows = (await s.scalars(select(PathCertification))).all()
    assert [(r.status, r.decided_by) for r in rows] == [("certified", "em-1")]


async def test_production_has_no_fake_bank(tmp_path: Path) -> None:
    bank = bank_verifier_for("production", tmp_path)
    assert not isinstance(bank, FakeBankVerifier)
    with pytest.raises(Exception, match="not connected to a bank"):
        await bank.deposit(key="k", bank_name="b", account="1", holder="h", amount=Decimal("0.1"))
    assert isinstance(bank_verifier_for("dev", tmp_path), FakeBankVerifier)
