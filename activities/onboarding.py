"""Activities of onboarding and development paths: applications, the bank micro-deposit,
agreements, activating the partner, path memberships and certifications.

The bank is the outside world: a ``BankVerifier`` makes the deposit. The random amount is
drawn here, stored in the database and compared here, so it never appears in a workflow
history.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from activities.parties import partner_snapshot
from activities.tasks import apply_step
from domain.certification import (
    CertificateKind,
    CloudCase,
    CompanyPaths,
    DevelopmentPath,
    PathContext,
    PathFacts,
    StaffCertificate,
    company_path_refusal,
    needs_join_approval,
)
from domain.errors import BusinessRuleError, InvalidStateError, NotFoundError
from domain.onboarding import (
    ExistingPartner,
    OnboardingContext,
    admin_user_id_for,
    bank_locked,
    mask_account,
    partner_id_for,
)
from domain.onboarding_models import (
    ActivatePartner,
    Activation,
    AmountCheck,
    CheckAmount,
    DepositRef,
    JoinOutcome,
    JoinPath,
    LoadFacts,
    LoadOnboardingContext,
    LoadPathContext,
    Recipient,
    Recipients,
    RecordApplication,
    RecordBusinessInfo,
    RecordCertification,
    RecordSignature,
    ReleaseApplicant,
    RoleRecipients,
    StartDeposit,
    UnlockBank,
    UpdateMembership,
)
from domain.parties import PartnerStatus, Role
from domain.tasks import Done
from infra.db import insert_ignore
from infra.tables import (
    AgreementSignature,
    BankVerification,
    BankVerificationAttempt,
    CloudServiceCase,
    Customer,
    OnboardingApplication,
    Partner,
    PathCertification,
    PathMembership,
    StaffCertificateRow,
    User,
)
from infra.tables.onboarding import ACTIVE_MEMBERSHIP_STATUSES


class BankUnavailableError(BusinessRuleError):
    """No bank is connected for micro-deposits in this deployment."""


# ----- the bank (outside world) -----------------------------------------------------------


class BankVerifier(Protocol):
    """Makes the verification micro-deposit into the account under certification."""

    async def deposit(
        self, *, key: str, bank_name: str, account: str, holder: str, amount: Decimal
    ) -> str:
        """Deposits ``amount`` once per ``key`` and returns the bank's reference."""
        ...


class FakeBankVerifier:
    """A development stand-in for the bank: it 'deposits' by writing a statement line to
    ``<statement_dir>/<account>.txt`` (where a developer reads the amount to enter), once
    per key, and remembers deposits in memory for tests."""

    def __init__(self, statement_dir: Path | None) -> None:
        self._dir = statement_dir
        self.deposits: dict[str, tuple[str, Decimal]] = {}

    async def deposit(
        self, *, key: str, bank_name: str, account: str, holder: str, amount: Decimal
    ) -> str:
        """Records the deposit; the same key deposits nothing twice."""
        reference = "FAKE-" + hashlib.sha256(key.encode()).hexdigest()[:12].upper()
        if key in self.deposits:
            return reference
        self.deposits[key] = (account, amount)
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)
            statement = self._dir / f"{account}.txt"
            if not statement.exists() or reference not in statement.read_text():
                with statement.open("a", encoding="utf-8") as f:
                    f.write(
                        f"{date.today():%Y-%m-%d}  {bank_name}  {holder}  credit {amount} CNY  "
                        f"ref {reference}  'account verification'\n"
                    )
        return reference


class UnconnectedBank:
    """Production without a bank adapter: refuses clearly instead of pretending."""

    async def deposit(
        self, *, key: str, bank_name: str, account: str, holder: str, amount: Decimal
    ) -> str:
        """Always refuses."""
        raise BankUnavailableError(
            "bank verification is not connected to a bank in this deployment; "
            "configure a BankVerifier for your bank before certifying business information"
        )


def bank_verifier_for(environment: str, statement_dir: Path) -> BankVerifier:
    """The fake bank outside production; production needs a real adapter."""
    if environment == "production":
        return UnconnectedBank()
    return FakeBankVerifier(statement_dir)


def random_amount(low: Decimal, high: Decimal) -> Decimal:
    """A random amount in [low, high] with two decimals (drawn by the activity, never by the
    workflow, so it is secret and not replayed)."""
    cents_low, cents_high = int(low * 100), int(high * 100)
    return Decimal(cents_low + secrets.randbelow(cents_high - cents_low + 1)) / 100


# ----- payloads -----------------------------------------------------------------------------


# ----- onboarding ---------------------------------------------------------------------------


async def read_path_facts(s: AsyncSession, partner_id: str) -> PathFacts | None:
    """Solution counts, staff certificates and cloud cases of a partner as stored now (None for
    an unknown partner): what the path thresholds read, in the activity and in reports alike."""
    partner = await s.get(Partner, partner_id, populate_existing=True)
    if partner is None:
        return None
    certs = (
        await s.scalars(
            select(StaffCertificateRow).where(StaffCertificateRow.partner_id == partner_id)
        )
    ).all()
    cases = (
        await s.scalars(select(CloudServiceCase).where(CloudServiceCase.partner_id == partner_id))
    ).all()
    return PathFacts(
        partner_id=partner_id,
        certified_solutions=partner.certified_solutions,
        advanced_solutions=partner.advanced_solutions,
        certificates=[
            StaffCertificate(
                holder=c.holder,
                kind=CertificateKind(c.kind),
                number=c.number,
                expires_on=c.expires_on,
            )
            for c in certs
        ],
        cases=[CloudCase(case_id=c.case_id, completed_on=c.completed_on) for c in cases],
    )


class OnboardingActivities:
    """Database and bank work of the onboarding workflow."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bank: BankVerifier,
        *,
        min_amount: Decimal = Decimal("0.01"),
        max_amount: Decimal = Decimal("0.99"),
    ) -> None:
        self._sessions = sessions
        self._bank = bank
        self._min = min_amount
        self._max = max_amount

    @activity.defn
    @business_errors
    async def load_onboarding_context(self, req: LoadOnboardingContext) -> OnboardingContext:
        """Existing partner accounts of the company (shown to the reviewer, not refused)."""
        async with self._sessions() as s:
            query = select(Partner).where(Partner.uscc == req.uscc).order_by(Partner.id)
            rows = (await s.scalars(query)).all()
        return OnboardingContext(
            existing_partners=[
                ExistingPartner(id=p.id, company_name=p.company_name, status=p.status) for p in rows
            ]
        )

    @activity.defn
    @business_errors
    async def record_application(self, req: RecordApplication) -> Done:
        """Upserts the application row; the first write flags a customer applicant."""
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            row = await s.scalar(
                select(OnboardingApplication).where(OnboardingApplication.run_key == req.run_key)
            )
            if row is None:
                applicant = req.submitted_by
                flag_set = False
                if applicant.role == Role.CUSTOMER and applicant.customer_id:
                    customer = await s.get(Customer, applicant.customer_id)
                    if customer is not None and not customer.is_partner_or_applicant:
                        customer.is_partner_or_applicant = True
                        flag_set = True
                s.add(
                    OnboardingApplication(
                        run_key=req.run_key,
                        workflow_id=req.workflow_id,
                        uscc=req.form.uscc,
                        company_name=req.form.company_name,
                        contact_name=req.form.contact_name,
                        contact_email=req.form.contact_email,
                        partner_type=req.form.partner_type.value,
                        submitted_by=applicant.user_id,
                        status=req.status.value,
                        reason=req.reason,
                        applicant_customer_id=applicant.customer_id
                        if applicant.role == Role.CUSTOMER
                        else None,
                        applicant_flag_set=flag_set,
                        created_at=req.at,
                        updated_at=req.at,
                    )
                )
                return Done()
            values: dict[str, object] = {
                "status": req.status.value,
                "reason": req.reason,
                "updated_at": req.at,
                "decided_by": req.decided_by,
                "decided_at": req.decided_at,
            }
            if req.business_certified_at is not None:
                values["business_certified_at"] = req.business_certified_at
            await s.execute(
                update(OnboardingApplication)
                .where(OnboardingApplication.id == row.id)
                .values(**values)
            )
        return Done()

    @activity.defn
    @business_errors
    async def record_business_info(self, req: RecordBusinessInfo) -> Done:
        """Stores the submitted business information on the application."""
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            result = await s.execute(
                update(OnboardingApplication)
                .where(OnboardingApplication.run_key == req.application_key)
                .values(
                    company_name=req.company_name,
                    tax_id=req.tax_id,
                    registered_address=req.registered_address,
                    bank_name=req.bank_name,
                    bank_account=req.bank_account,
                    account_holder=req.account_holder,
                    updated_at=req.at,
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no application {req.application_key}")
        return Done()

    @activity.defn
    @business_errors
    async def start_bank_deposit(self, req: StartDeposit) -> DepositRef:
        """Draws the random amount, stores it, then has the bank deposit it.

        A retry finds the stored row and deposits with the same key, which the bank treats as
        the same deposit.
        """
        async with self._sessions.begin() as s:
            await s.execute(
                insert_ignore(s, BankVerification, ["idempotency_key"]).values(
                    idempotency_key=req.key,
                    application_key=req.application_key,
                    bank_name=req.bank_name,
                    bank_account=req.bank_account,
                    account_holder=req.account_holder,
                    amount=random_amount(self._min, self._max),
                    status="pending",
                    wrong_entries=0,
                    created_at=req.at,
                )
            )
            row = await s.scalar(
                select(BankVerification).where(BankVerification.idempotency_key == req.key)
            )
            assert row is not None
            amount, account = row.amount, row.bank_account
            bank_name, holder = row.bank_name, row.account_holder
        reference = await self._bank.deposit(
            key=req.key, bank_name=bank_name, account=account, holder=holder, amount=amount
        )
        async with self._sessions.begin() as s:
            await s.execute(
                update(BankVerification)
                .where(BankVerification.idempotency_key == req.key)
                .values(
                    bank_reference=reference,
                    deposited_at=func.coalesce(BankVerification.deposited_at, req.at),
                )
            )
        return DepositRef(
            verification_key=req.key, masked_account=mask_account(account), bank_reference=reference
        )

    @activity.defn
    @business_errors
    async def check_bank_amount(self, req: CheckAmount) -> AmountCheck:
        """Records one entry and compares it; the wrong entries since the last unlock decide
        the lock. A retry of the same entry counts once."""
        async with self._sessions.begin() as s:
            ver = await s.scalar(
                select(BankVerification)
                .where(BankVerification.idempotency_key == req.verification_key)
                .with_for_update()
            )
            if ver is None:
                raise NotFoundError(f"no bank deposit {req.verification_key}")
            done = await s.scalar(
                select(BankVerificationAttempt).where(
                    BankVerificationAttempt.idempotency_key == req.key
                )
            )
            if done is not None:
                return AmountCheck(
                    matched=done.matched,
                    wrong_entries=ver.wrong_entries,
                    locked=ver.status == "locked",
                )
            if ver.status == "locked":
                raise InvalidStateError(
                    f"bank verification is locked after {ver.wrong_entries} wrong entries; "
                    "ask ops to unlock it"
                )
            if ver.status == "verified":
                return AmountCheck(matched=True, wrong_entries=ver.wrong_entries, locked=False)
            entered = Decimal(req.amount).quantize(Decimal("0.01"))
            matched = entered == ver.amount
            s.add(
                BankVerificationAttempt(
                    idempotency_key=req.key,
                    verification_id=ver.id,
                    entered=entered,
                    matched=matched,
                    entered_by=req.entered_by,
                    entered_at=req.at,
                )
            )
            if matched:
                ver.status = "verified"
                ver.verified_at = req.at
            else:
                ver.wrong_entries += 1
                if bank_locked(ver.wrong_entries, req.max_wrong_entries):
                    ver.status = "locked"
                    ver.locked_at = req.at
            return AmountCheck(
                matched=matched, wrong_entries=ver.wrong_entries, locked=ver.status == "locked"
            )

    @activity.defn
    @business_errors
    async def unlock_bank(self, req: UnlockBank) -> Done:
        """Ops unlocks: the wrong entries start again from zero (same deposit)."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(BankVerification)
                .where(
                    BankVerification.idempotency_key == req.verification_key,
                    BankVerification.status == "locked",
                )
                .values(status="pending", wrong_entries=0, unlocked_by=req.by, unlocked_at=req.at)
            )
        return Done()

    @activity.defn
    @business_errors
    async def record_signature(self, req: RecordSignature) -> Done:
        """Stores one signed agreement (once)."""
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            await s.execute(
                insert_ignore(s, AgreementSignature, ["idempotency_key"]).values(
                    idempotency_key=f"{req.application_key}:{req.agreement.value}",
                    application_key=req.application_key,
                    agreement=req.agreement.value,
                    signed_by=req.signed_by,
                    signed_at=req.at,
                )
            )
        return Done()

    @activity.defn
    @business_errors
    async def activate_partner(self, req: ActivatePartner) -> Activation:
        """Creates the ACTIVE, business-certified partner and its admin user from the
        application's contact, in one transaction; a retry returns what the first wrote."""
        async with self._sessions.begin() as s:
            app = await s.scalar(
                select(OnboardingApplication)
                .where(OnboardingApplication.run_key == req.application_key)
                .with_for_update()
            )
            if app is None:
                raise NotFoundError(f"no application {req.application_key}")
            if app.partner_id is not None and app.admin_user_id is not None:
                return Activation(partner_id=app.partner_id, admin_user_id=app.admin_user_id)
            taken = set(
                (await s.scalars(select(Partner.id).where(Partner.id.like(f"P-{app.uscc}%")))).all()
            )
            partner_id = partner_id_for(app.uscc, taken)
            s.add(
                Partner(
                    id=partner_id,
                    company_name=app.company_name,
                    uscc=app.uscc,
                    contact_email=app.contact_email,
                    type=app.partner_type,
                    status=PartnerStatus.ACTIVE.value,
                    business_certified=True,
                    consulting_permission=False,
                    certified_solutions=0,
                    advanced_solutions=0,
                    created_at=req.at,
                )
            )
            await s.flush()
            admin_id = admin_user_id_for(partner_id)
            if await s.get(User, admin_id) is None:
                s.add(
                    User(
                        id=admin_id,
                        name=app.contact_name or f"{app.company_name} administrator",
                        email=app.contact_email,
                        role=Role.PARTNER_ADMIN.value,
                        partner_id=partner_id,
                        active=True,
                    )
                )
            app.partner_id = partner_id
            app.admin_user_id = admin_id
            app.updated_at = req.at
        return Activation(partner_id=partner_id, admin_user_id=admin_id)

    @activity.defn
    @business_errors
    async def release_applicant(self, req: ReleaseApplicant) -> Done:
        """After a rejection, withdrawal or expiry, the customer account that applied is no
        longer 'applying to be a partner' (only if this application had set the flag)."""
        async with self._sessions.begin() as s:
            app = await s.scalar(
                select(OnboardingApplication).where(
                    OnboardingApplication.run_key == req.application_key
                )
            )
            if app is None or not app.applicant_flag_set or app.applicant_customer_id is None:
                return Done()
            customer = await s.get(Customer, app.applicant_customer_id)
            if customer is not None:
                customer.is_partner_or_applicant = False
            app.applicant_flag_set = False
        return Done()

    @activity.defn
    @business_errors
    async def role_recipients(self, req: RoleRecipients) -> Recipients:
        """The active users of a vendor role (reviewers, ops), to email."""
        async with self._sessions() as s:
            rows = (
                await s.scalars(
                    select(User)
                    .where(User.role == req.role.value, User.active.is_(True))
                    .order_by(User.id)
                )
            ).all()
        return Recipients(
            people=[Recipient(user_id=u.id, email=u.email, name=u.name) for u in rows]
        )


# ----- development paths ----------------------------------------------------------------------


class DevelopmentPathActivities:
    """Database work of the development path workflow."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn
    @business_errors
    async def load_path_context(self, req: LoadPathContext) -> PathContext:
        """The partner, its admin user, and the company's other accounts on the path."""
        async with self._sessions() as s:
            partner = await partner_snapshot(s, req.partner_id)
            if partner is None:
                return PathContext(partner=None)
            admin = await s.scalar(
                select(User.id)
                .where(
                    User.partner_id == req.partner_id,
                    User.role == Role.PARTNER_ADMIN.value,
                    User.active.is_(True),
                )
                .order_by(User.id)
            )
            others = await _others_on_path(s, partner.uscc, req.partner_id, req.path)
        return PathContext(
            partner=partner,
            admin_user_id=admin,
            company=CompanyPaths(uscc=partner.uscc, others_on_path=others),
        )

    @activity.defn
    @business_errors
    async def join_path(self, req: JoinPath) -> JoinOutcome:
        """Re-checks the company rules against the database and writes the membership.

        The partial unique index settles a race for the service path between two accounts
        of one company: the loser's insert fails and it is refused.
        """
        async with self._sessions.begin() as s:
            mine = await s.scalar(
                select(PathMembership).where(PathMembership.idempotency_key == req.key)
            )
            partner = await s.get(Partner, req.partner_id)
            if partner is None:
                raise NotFoundError(f"partner {req.partner_id} no longer exists")
            if mine is not None:
                others = await _others_on_path(s, partner.uscc, req.partner_id, req.path)
                return JoinOutcome(status=mine.status, others_on_path=others)
            others = await _others_on_path(s, partner.uscc, req.partner_id, req.path)
            refusal = company_path_refusal(req.path, others)
            if refusal is not None:
                return JoinOutcome(status="refused", others_on_path=others, reason=refusal)
            status = "pending_approval" if needs_join_approval(req.path, others) else "joined"
            uscc = partner.uscc
        try:
            async with self._sessions.begin() as s:
                s.add(
                    PathMembership(
                        idempotency_key=req.key,
                        workflow_id=req.workflow_id,
                        partner_id=req.partner_id,
                        uscc=uscc,
                        path=req.path.value,
                        status=status,
                        created_at=req.at,
                        joined_at=req.at if status == "joined" else None,
                    )
                )
        except IntegrityError:
            async with self._sessions() as s:
                mine = await s.scalar(
                    select(PathMembership).where(PathMembership.idempotency_key == req.key)
                )
                others = await _others_on_path(s, uscc, req.partner_id, req.path)
            if mine is not None:
                return JoinOutcome(status=mine.status, others_on_path=others)
            return JoinOutcome(
                status="refused",
                others_on_path=others,
                reason=company_path_refusal(req.path, others)
                or f"partner {req.partner_id} already follows the {req.path.value} path",
            )
        return JoinOutcome(status=status, others_on_path=others)

    @activity.defn
    @business_errors
    async def update_membership(self, req: UpdateMembership) -> Done:
        """Sets the membership's status (idempotent: setting the same status again is a no-op)."""
        values: dict[str, object] = {"status": req.status}
        if req.decided_by is not None:
            values["decided_by"] = req.decided_by
        if req.status == "joined":
            values["joined_at"] = func.coalesce(PathMembership.joined_at, req.at)
        if req.status == "left":
            values["left_at"] = func.coalesce(PathMembership.left_at, req.at)
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            result = await s.execute(
                update(PathMembership)
                .where(PathMembership.idempotency_key == req.key)
                .values(**values)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no path membership {req.key}")
        return Done()

    @activity.defn
    @business_errors
    async def load_path_facts(self, req: LoadFacts) -> PathFacts:
        """Solution counts, unexpired staff certificates and cloud cases, read now."""
        async with self._sessions() as s:
            facts = await read_path_facts(s, req.partner_id)
        if facts is None:
            raise NotFoundError(f"partner {req.partner_id} does not exist")
        return facts

    @activity.defn
    @business_errors
    async def record_certification(self, req: RecordCertification) -> Done:
        """Upserts one certification request row by key."""
        async with self._sessions.begin() as s:
            await apply_step(s, req.step)
            await s.execute(
                insert_ignore(s, PathCertification, ["idempotency_key"]).values(
                    idempotency_key=req.key,
                    workflow_id=req.workflow_id,
                    partner_id=req.partner_id,
                    path=req.path.value,
                    level=req.level,
                    status=req.status,
                    requested_by=req.requested_by,
                    requested_at=req.requested_at,
                )
            )
            await s.execute(
                update(PathCertification)
                .where(PathCertification.idempotency_key == req.key)
                .values(
                    status=req.status,
                    decided_by=req.decided_by,
                    decided_at=req.decided_at,
                    reason=req.reason,
                )
            )
        return Done()


async def _others_on_path(
    s: AsyncSession, uscc: str, partner_id: str, path: DevelopmentPath
) -> list[str]:
    """Other partner accounts of the same company with an active membership of the path."""
    rows = (
        await s.scalars(
            select(PathMembership.partner_id)
            .where(
                PathMembership.uscc == uscc,
                PathMembership.path == path.value,
                PathMembership.partner_id != partner_id,
                PathMembership.status.in_(ACTIVE_MEMBERSHIP_STATUSES),
            )
            .order_by(PathMembership.partner_id)
        )
    ).all()
    return list(dict.fromkeys(rows))
