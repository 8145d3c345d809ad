"""``partnerflow onboard``, ``onboarding ...``, ``path ...``, ``partner ...`` and the
``applications`` import: partner onboarding, development paths and certification."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from activities.parties import partner_snapshot
from domain.certification import (
    LEVELS,
    CertificateKind,
    CertificationAsk,
    CertLevel,
    CloudCase,
    DevelopmentPath,
    PathFacts,
    PathInvitation,
    PathStatus,
    PathThresholds,
    PathView,
    ServiceThresholds,
    SoftwareThresholds,
    StaffCertificate,
    company_path_refusal,
    shortfalls,
)
from domain.onboarding import (
    FINAL_STATUSES,
    AmountEntry,
    ApplicationForm,
    BusinessInfo,
    OnboardingRequest,
    OnboardingStatus,
    OnboardingTiming,
    OnboardingView,
    Uscc,
    WorkCalendar,
)
from domain.parties import Actor, Decision, PartnerStatus, PartnerType, Role
from domain.reference import Email, Ident
from domain.rules import status_rule
from domain.types import Name, Text
from domain.uscc import normalize_uscc, uscc_problem
from infra.config import Settings
from infra.db import utcnow
from infra.tables import (
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
from infra.temporal import connect
from starter.cli.output import console, emit
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.imports.base import (
    Importer,
    ImportRefusedError,
    ImportResult,
    RowError,
    duplicates,
    register_importer,
)
from starter.services.context import (
    AppContext,
    load_settings,
    operator,
    parse_duration,
    temporal_errors,
    wait_for_query,
)
from starter.services.errors import BadInputError, RefusedError
from workflows.common import PARTNER_ID
from workflows.development_path import DevelopmentPathWorkflow
from workflows.onboarding import OnboardingWorkflow

onboarding_app = typer.Typer(
    help="Steps of a partner application: bank certification, review, agreements, approval.",
    no_args_is_help=True,
)
path_app = typer.Typer(
    help="Development paths: invite a partner, join, ask for certification, decide, leave.",
    no_args_is_help=True,
)
partner_app = typer.Typer(
    help="A partner's facts: show them; ops record solutions, certificates and cases.",
    no_args_is_help=True,
)

As = Annotated[str, typer.Option("--as", help="The user acting (user id, or a customer id).")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
App = Annotated[
    str, typer.Argument(help="The application: its id (onboarding-<USCC>) or the company's USCC.")
]
PartnerOpt = Annotated[str, typer.Option("--partner", help="Partner id.")]
PathOpt = Annotated[DevelopmentPath, typer.Option("--path", help="The development path.")]

OPEN_APPLICATION_STATUSES = [s.value for s in OnboardingStatus if s not in FINAL_STATUSES]


# ----- settings -> workflow inputs --------------------------------------------------------------


def work_calendar(settings: Settings) -> WorkCalendar:
    """The working-day calendar of the settings."""
    return WorkCalendar(
        holidays=settings.working_calendar_holidays,
        working_weekends=settings.working_calendar_working_weekends,
        utc_offset_hours=settings.working_calendar_utc_offset_hours,
    )


def onboarding_timing(settings: Settings) -> OnboardingTiming:
    """The onboarding durations and counts of the settings."""
    return OnboardingTiming(
        review_working_days=settings.onboarding_review_working_days,
        escalate_after=settings.onboarding_escalation_after,
        agreement_window=settings.onboarding_agreement_window,
        agreement_reminders=list(settings.onboarding_agreement_reminders),
        bank_max_wrong_entries=settings.onboarding_bank_max_wrong_entries,
        calendar=work_calendar(settings),
    )


def path_thresholds(settings: Settings) -> PathThresholds:
    """The development paths' thresholds of the settings (the yearly policy)."""
    return PathThresholds(
        software=SoftwareThresholds(
            role_min_solutions=settings.path_software_role_min_solutions,
            differentiation_min_advanced=settings.path_software_differentiation_min_advanced,
        ),
        service=ServiceThresholds(
            min_persons=settings.path_service_min_persons,
            min_certificates=settings.path_service_min_certificates,
            hcip_stands_in_for_hcia=settings.path_service_hcip_stands_in_for_hcia,
            hcips_without_hcia=settings.path_service_hcips_without_hcia,
            min_cloud_cases=settings.path_service_min_cloud_cases,
            case_window_days=settings.path_service_case_window_days,
        ),
    )


# ----- applications ---------------------------------------------------------------------------


def application_id(ref: str) -> str:
    """``onboarding-<USCC>`` from either the id or the USCC."""
    ref = ref.strip()
    if ref.startswith("onboarding-"):
        return ref
    return f"onboarding-{normalize_uscc(ref)}"


def application_form(
    company: str, uscc: str, email: str, partner_type: PartnerType, contact_name: str
) -> ApplicationForm:
    """The form, with a malformed field named by its option (exit 2)."""
    problem = uscc_problem(normalize_uscc(uscc))
    if problem:
        raise BadInputError(f"--uscc: {problem}", rule="invalid_uscc")
    try:
        return ApplicationForm(
            company_name=company,
            uscc=uscc,
            contact_email=email,
            contact_name=contact_name,
            partner_type=partner_type,
        )
    except ValidationError as exc:
        options = {
            "company_name": "--company",
            "contact_email": "--email",
            "contact_name": "--contact-name",
            "partner_type": "--type",
        }
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "value"
        raise BadInputError(f"{options.get(field, field)}: {err['msg']}") from None


async def open_application(s: AsyncSession, uscc: str) -> OnboardingApplication | None:
    """The company's application that is still open, if any."""
    row: OnboardingApplication | None = await s.scalar(
        select(OnboardingApplication)
        .where(
            OnboardingApplication.uscc == uscc,
            OnboardingApplication.status.in_(OPEN_APPLICATION_STATUSES),
        )
        .order_by(OnboardingApplication.id.desc())
    )
    return row


async def start_application(ctx: AppContext, form: ApplicationForm, actor: Actor) -> OnboardingView:
    """Pre-checks (one open application per company), starts the workflow, waits until the
    application is registered."""
    async with ctx.sessions() as s:
        existing = await open_application(s, form.uscc)
    if existing is not None:
        raise RefusedError(
            f"company {form.uscc} already has an open application ({existing.workflow_id}, "
            f"{existing.status}); one application per company at a time: continue or "
            "withdraw that one",
            rule="application_open",
        )
    client = await ctx.client()
    req = OnboardingRequest(form=form, submitted_by=actor, timing=onboarding_timing(ctx.settings))
    wf_id = application_id(form.uscc)
    async with temporal_errors("onboard"):
        handle = await client.start_workflow(
            OnboardingWorkflow.run, req, id=wf_id, task_queue=ctx.settings.task_queue
        )
    raw = await wait_for_query(
        handle, "status", lambda v: v and v.get("status") != OnboardingStatus.SUBMITTED.value
    )
    if raw is None:
        raise RefusedError(
            f"application {wf_id} was started but no worker answered; is the worker running?",
            rule="no_worker",
        )
    return OnboardingView.model_validate(raw)


async def application_update(
    ctx: AppContext, ref: str, update: str, payload: BaseModel
) -> OnboardingView:
    """Runs an update on an application; after it ended, says how it ended."""
    wf_id = application_id(ref)
    client = await ctx.client()
    handle = client.get_workflow_handle_for(OnboardingWorkflow.run, wf_id)
    nonce = getattr(payload, "nonce", None) or f"{update}-{uuid.uuid4()}"
    try:
        async with temporal_errors(f"onboarding {update.replace('_', ' ')}"):
            raw = await handle.execute_update(update, payload, id=nonce, result_type=OnboardingView)
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        async with ctx.sessions() as s:
            row = await s.scalar(
                select(OnboardingApplication)
                .where(OnboardingApplication.workflow_id == wf_id)
                .order_by(OnboardingApplication.id.desc())
            )
        if row is None:
            raise BadInputError(f"APPLICATION: no application {wf_id!r}") from None
        raise RefusedError(
            f"application {wf_id} is {row.status.lower()}"
            + (f" ({row.reason})" if row.reason else ""),
            rule=status_rule("application", row.status),
        ) from None
    return OnboardingView.model_validate(raw)


def _print_application(v: OnboardingView, settings: Settings | None = None) -> None:
    console.print(f"[bold]{v.workflow_id}[/]: {v.status.value}")
    console.print(
        f"  {v.company_name} ({v.uscc}), {v.partner_type.value}, contact {v.contact_email}"
    )
    if v.existing_partners:
        ids = ", ".join(f"{p.id} ({p.status})" for p in v.existing_partners)
        console.print(f"  note: the company already has partner account(s) {ids}")
    if v.bank_account:
        console.print(f"  bank account {v.bank_account}")
    if v.bank_entries_left is not None:
        console.print(f"  amount entries left before the lock: {v.bank_entries_left}")
        if settings is not None and v.bank_account:
            console.print(
                f"  (development fake bank: the deposit is on the statement in "
                f"{settings.fake_bank_dir}/)"
            )
    if v.review_due_at and v.status == OnboardingStatus.IN_REVIEW:
        console.print(
            f"  review due {v.review_due_at:%Y-%m-%d %H:%M} UTC"
            + (" (escalated to ops)" if v.escalated else "")
        )
    if v.signatures or v.signatures_due_at:
        signed = ", ".join(a.value for a in v.signatures) or "nothing yet"
        due = f", due {v.signatures_due_at:%Y-%m-%d %H:%M} UTC" if v.signatures_due_at else ""
        console.print(f"  signed: {signed}{due}")
    if v.approval_due_at and v.status == OnboardingStatus.AWAITING_APPROVAL:
        console.print(
            f"  final approval due {v.approval_due_at:%Y-%m-%d %H:%M} UTC"
            + (" (escalated to ops)" if v.escalated else "")
        )
    if v.partner_id:
        console.print(f"  partner {v.partner_id}, admin user {v.admin_user_id}")
    if v.reason:
        console.print(f"  reason: {v.reason}")


# ----- development paths ----------------------------------------------------------------------


def path_workflow_id(partner_id: str, path: DevelopmentPath) -> str:
    """The business key: one path membership per partner and path."""
    return f"path-{partner_id}-{path.value}"


async def path_precheck(ctx: AppContext, req: PathInvitation) -> None:
    """The workflow's own invitation rules, run first so that a refusal writes nothing."""
    inviter = req.invited_by
    if inviter.role not in (Role.OPS, Role.ECOSYSTEM_MANAGER):
        raise RefusedError(
            f"{inviter.describe()} may not invite partners to a development path; "
            "the vendor's ecosystem manager or ops invites",
            rule="not_vendor",
        )
    async with ctx.sessions() as s:
        partner = await partner_snapshot(s, req.partner_id)
        if partner is None:
            raise BadInputError(f"--partner: no partner with id {req.partner_id!r}")
        admin = await s.scalar(
            select(User.id).where(
                User.partner_id == partner.id,
                User.role == Role.PARTNER_ADMIN.value,
                User.active.is_(True),
            )
        )
        others = (
            await s.scalars(
                select(PathMembership.partner_id).where(
                    PathMembership.uscc == partner.uscc,
                    PathMembership.path == req.path.value,
                    PathMembership.partner_id != partner.id,
                    PathMembership.status.in_(ACTIVE_MEMBERSHIP_STATUSES),
                )
            )
        ).all()
    if partner.status != PartnerStatus.ACTIVE:
        raise RefusedError(
            f"partner {partner.id} is {partner.status.value}; only ACTIVE partners are invited",
            rule="partner_not_active",
        )
    if admin is None:
        raise RefusedError(
            f"partner {partner.id} has no active admin user to accept the invitation",
            rule="no_partner_admin",
        )
    refusal = company_path_refusal(req.path, sorted(set(others)))
    if refusal:
        raise RefusedError(refusal, rule="service_path_once_per_company")


async def path_update(
    ctx: AppContext, partner_id: str, path: DevelopmentPath, update: str, payload: BaseModel
) -> PathView:
    """Runs an update on a path membership."""
    wf_id = path_workflow_id(partner_id, path)
    client = await ctx.client()
    handle = client.get_workflow_handle_for(DevelopmentPathWorkflow.run, wf_id)
    nonce = getattr(payload, "nonce", None) or f"{update}-{uuid.uuid4()}"
    try:
        async with temporal_errors(f"path {update.replace('_', ' ')}"):
            raw = await handle.execute_update(update, payload, id=nonce, result_type=PathView)
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        raise RefusedError(
            f"partner {partner_id} has no open {path.value} path membership ({wf_id}); "
            "the vendor invites first (partnerflow path invite)",
            rule="path_not_open",
        ) from None
    return PathView.model_validate(raw)


def _print_path(v: PathView) -> None:
    console.print(f"[bold]{v.workflow_id}[/]: {v.status.value}")
    if v.expires_at and v.status == PathStatus.INVITED:
        console.print(f"  invitation valid until {v.expires_at:%Y-%m-%d %H:%M} UTC")
    if v.others_on_path:
        console.print(f"  other accounts of the company on it: {', '.join(v.others_on_path)}")
    if v.pending_step:
        console.print(f"  awaiting the ecosystem manager: {v.pending_step}")
    if v.certified:
        console.print(f"  certified: {', '.join(lv.value for lv in v.certified)}")
    if v.reason:
        console.print(f"  reason: {v.reason}")


# ----- partner facts ----------------------------------------------------------------------------


async def load_facts(s: AsyncSession, partner_id: str) -> PathFacts:
    """The facts the path thresholds read (as the workflow's activity loads them)."""
    partner = await s.get(Partner, partner_id)
    if partner is None:
        raise BadInputError(f"PARTNER: no partner with id {partner_id!r}")
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


async def partner_report(ctx: AppContext, partner_id: str) -> dict[str, Any]:
    """Everything onboarding knows about a partner, and what each path level still needs."""
    async with ctx.sessions() as s:
        facts = await load_facts(s, partner_id)
        p = await s.get(Partner, partner_id)
        assert p is not None
        users = (await s.scalars(select(User).where(User.partner_id == partner_id))).all()
        apps = (
            await s.scalars(
                select(OnboardingApplication)
                .where(OnboardingApplication.partner_id == partner_id)
                .order_by(OnboardingApplication.id)
            )
        ).all()
        memberships = (
            await s.scalars(
                select(PathMembership)
                .where(PathMembership.partner_id == partner_id)
                .order_by(PathMembership.id)
            )
        ).all()
        certifications = (
            await s.scalars(
                select(PathCertification)
                .where(PathCertification.partner_id == partner_id)
                .order_by(PathCertification.id)
            )
        ).all()
        same_company = (
            await s.scalars(
                select(Partner.id).where(Partner.uscc == p.uscc, Partner.id != partner_id)
            )
        ).all()
    thresholds = path_thresholds(ctx.settings)
    today = utcnow().date()
    readiness: dict[str, dict[str, list[str]]] = {}
    for path, levels in LEVELS.items():
        held = {
            CertLevel(c.level)
            for c in certifications
            if c.path == path.value and c.status == "certified"
        }
        readiness[path.value] = {
            level.value: [
                m.message for m in shortfalls(path, level, facts, thresholds, today, held)
            ]
            for level in levels
        }
    return {
        "partner": {
            "id": p.id,
            "company_name": p.company_name,
            "uscc": p.uscc,
            "type": p.type,
            "status": p.status,
            "contact_email": p.contact_email,
            "business_certified": p.business_certified,
            "certified_solutions": p.certified_solutions,
            "advanced_solutions": p.advanced_solutions,
        },
        "same_company_accounts": list(same_company),
        "users": [{"id": u.id, "name": u.name, "role": u.role, "email": u.email} for u in users],
        "applications": [
            {"workflow_id": a.workflow_id, "status": a.status, "decided_at": a.decided_at}
            for a in apps
        ],
        "paths": [
            {"path": m.path, "status": m.status, "joined_at": m.joined_at, "left_at": m.left_at}
            for m in memberships
        ],
        "certifications": [
            {
                "path": c.path,
                "level": c.level,
                "status": c.status,
                "decided_by": c.decided_by,
                "decided_at": c.decided_at,
                "reason": c.reason,
            }
            for c in certifications
        ],
        "staff_certificates": [c.model_dump(mode="json") for c in facts.certificates],
        "cloud_service_cases": [c.model_dump(mode="json") for c in facts.cases],
        "missing_for_certification": readiness,
    }


def _print_partner(r: dict[str, Any]) -> None:
    p = r["partner"]
    console.print(
        f"[bold]{p['id']}[/]: {p['company_name']} ({p['uscc']}), {p['type']}, {p['status']}"
    )
    console.print(
        f"  contact {p['contact_email']}; business certified: "
        f"{'yes' if p['business_certified'] else 'no'}"
    )
    console.print(
        f"  certified solutions {p['certified_solutions']} (advanced {p['advanced_solutions']})"
    )
    if r["same_company_accounts"]:
        console.print(f"  other accounts of the company: {', '.join(r['same_company_accounts'])}")
    for u in r["users"]:
        console.print(f"  user {u['id']} ({u['role']}) {u['email']}")
    for m in r["paths"]:
        console.print(f"  path {m['path']}: {m['status']}")
    for c in r["certifications"]:
        console.print(
            f"  certification {c['path']}/{c['level']}: {c['status']}"
            + (f" ({c['reason']})" if c["reason"] else "")
        )
    console.print(
        f"  staff certificates: {len(r['staff_certificates'])}, "
        f"cloud service cases: {len(r['cloud_service_cases'])}"
    )
    for path, levels in r["missing_for_certification"].items():
        for level, missing in levels.items():
            state = "threshold met" if not missing else "missing: " + "; ".join(missing)
            console.print(f"  {path} {level}: {state}")


async def require_ops(ctx: AppContext, user_id: str) -> Actor:
    """Ops record the facts certification reads."""
    actor = await ctx.actor(user_id)
    if actor.role != Role.OPS:
        raise RefusedError(f"only ops record partner facts, not {actor.describe()}", rule="not_ops")
    return actor


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"{option}: {value!r} is not a date like 2026-11-23") from None


# ----- the applications import -----------------------------------------------------------------


class ApplicationRow(BaseModel):
    """One application of a bulk import (the company is validated like ``onboard``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    company_name: Name
    uscc: Uscc
    contact_email: Email
    contact_name: Annotated[Text, Field(max_length=200)] = ""
    type: PartnerType
    submitted_by: Ident

    def form(self) -> ApplicationForm:
        """The application form (validated again, so the USCC check applies)."""
        return ApplicationForm(
            company_name=self.company_name,
            uscc=self.uscc,
            contact_email=self.contact_email,
            contact_name=self.contact_name,
            partner_type=self.type,
        )


async def _actor_in(s: AsyncSession, user_id: str) -> Actor | None:
    user = await s.get(User, user_id)
    if user is not None:
        return Actor(
            user_id=user.id,
            role=Role(user.role),
            name=user.name,
            email=user.email,
            partner_id=user.partner_id,
            customer_id=user.customer_id,
        )
    customer = await s.get(Customer, user_id)
    if customer is not None:
        return Actor(
            user_id=customer.id,
            role=Role.CUSTOMER,
            name=customer.name,
            email=customer.email,
            customer_id=customer.id,
        )
    return None


async def _check_applications(s: AsyncSession, rows: list[ApplicationRow]) -> list[RowError]:
    errors: list[RowError] = []
    for n, row in enumerate(rows, start=1):
        existing = await open_application(s, row.uscc)
        if existing is not None:
            errors.append(RowError(n, "uscc", f"an application is open: {existing.workflow_id}"))
        if await _actor_in(s, row.submitted_by) is None:
            errors.append(RowError(n, "submitted_by", f"no user or customer {row.submitted_by}"))
    errors += duplicates(rows, lambda r: r.uscc, "uscc")
    return errors


async def _start_applications(
    s: AsyncSession, rows: list[ApplicationRow], result: ImportResult
) -> None:
    """Starts one onboarding workflow per row, after checking that none is running."""
    settings = load_settings()
    client: Client = await connect(settings)
    forms = [r.form() for r in rows]
    running: list[RowError] = []
    for n, form in enumerate(forms, start=1):
        try:
            desc = await client.get_workflow_handle(application_id(form.uscc)).describe()
        except RPCError:
            continue  # never started: free
        if desc.status == WorkflowExecutionStatus.RUNNING:
            running.append(RowError(n, "uscc", f"{application_id(form.uscc)} is running"))
    if running:
        raise ImportRefusedError(Path(result.file), running)
    timing = onboarding_timing(settings)
    for row, form in zip(rows, forms, strict=True):
        actor = await _actor_in(s, row.submitted_by)
        assert actor is not None
        await client.start_workflow(
            OnboardingWorkflow.run,
            OnboardingRequest(form=form, submitted_by=actor, timing=timing),
            id=application_id(form.uscc),
            task_queue=settings.task_queue,
        )
        result.inserted += 1
        result.notes.append(f"{application_id(form.uscc)} started")


APPLICATIONS = register_importer(
    Importer(
        "applications",
        ApplicationRow,
        _start_applications,
        _check_applications,
        help="Partner applications: company_name, uscc, contact_email, contact_name, type, "
        "submitted_by; each starts an onboarding workflow",
    )
)


# ----- commands ---------------------------------------------------------------------------------


class AgreementChoice(StrEnum):
    """Which agreement ``onboarding sign`` signs."""

    PARTNER = "partner"
    INTEGRITY = "integrity"
    BOTH = "both"


class ReviewDecision(StrEnum):
    """The outcome of the business-information review."""

    APPROVE = "approve"
    REJECT = "reject"


def register(app: typer.Typer) -> None:
    """Adds the onboarding, path and partner commands to the CLI."""

    @app.command()
    def onboard(
        company: Annotated[str, typer.Option(help="The company's registered name.")],
        uscc: Annotated[str, typer.Option(help="Unified social credit code (18 characters).")],
        email: Annotated[str, typer.Option(help="Contact email; the admin user gets it.")],
        partner_type: Annotated[
            PartnerType, typer.Option("--type", help="The kind of partner applied for.")
        ],
        as_user: As,
        contact_name: Annotated[str, typer.Option(help="Contact person's name.")] = "",
        as_json: Json = False,
    ) -> None:
        """Submit a partner application (one open application per company). Next step:
        `onboarding certify-bank`."""

        async def body(ctx: AppContext) -> None:
            form = application_form(company, uscc, email, partner_type, contact_name)
            view = await start_application(ctx, form, await ctx.actor(as_user))
            emit(view, as_json, lambda: _print_application(view))

        run_async(as_json, body)

    @onboarding_app.command("certify-bank")
    def certify_bank(
        application: App,
        bank_name: Annotated[str, typer.Option(help="The bank holding the account.")],
        bank_account: Annotated[str, typer.Option(help="Account number (8 to 30 digits).")],
        as_user: As,
        account_holder: Annotated[
            str | None, typer.Option(help="Account holder (default: the company name).")
        ] = None,
        company: Annotated[
            str | None, typer.Option(help="Company name, if it must be corrected.")
        ] = None,
        tax_id: Annotated[str | None, typer.Option(help="Tax id (default: the USCC).")] = None,
        address: Annotated[str, typer.Option(help="Registered address.")] = "",
        as_json: Json = False,
    ) -> None:
        """Submit the business information (company, tax, bank account) for certification;
        a small random amount is deposited into the account, to be entered with
        `onboarding enter-amount`. Also used to resubmit after the review asked for changes."""

        async def body(ctx: AppContext) -> None:
            actor = await ctx.actor(as_user)
            client = await ctx.client()
            handle = client.get_workflow_handle_for(
                OnboardingWorkflow.run, application_id(application)
            )
            async with temporal_errors("onboarding certify-bank"):
                current = OnboardingView.model_validate(await handle.query("status"))
            name = company or current.company_name
            try:
                info = BusinessInfo(
                    actor=actor,
                    company_name=name,
                    tax_id=tax_id or current.uscc,
                    registered_address=address,
                    bank_name=bank_name,
                    bank_account=bank_account,
                    account_holder=account_holder or name,
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                field = str(err["loc"][0]).replace("_", "-") if err["loc"] else "value"
                raise BadInputError(f"--{field}: {err['msg']}") from None
            view = await application_update(ctx, application, "submit_business_info", info)
            emit(view, as_json, lambda: _print_application(view, ctx.settings))

        run_async(as_json, body)

    @onboarding_app.command("enter-amount")
    def enter_amount(
        application: App,
        amount: Annotated[str, typer.Option(help="The amount on the bank statement, e.g. 0.37.")],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Enter the amount deposited into the bank account; three wrong entries lock the
        certification until ops unlock it."""

        async def body(ctx: AppContext) -> None:
            try:
                value = Decimal(amount.strip())
                entry = AmountEntry(actor=await ctx.actor(as_user), amount=value)
            except (InvalidOperation, ValidationError):
                raise BadInputError(
                    f"--amount: {amount!r} is not an amount like 0.37 (CNY, two decimals)"
                ) from None
            view = await application_update(ctx, application, "enter_amount", entry)
            emit(view, as_json, lambda: _print_application(view))
            if view.status == OnboardingStatus.AWAITING_AMOUNT:
                raise RefusedError(
                    f"that is not the deposited amount; {view.bank_entries_left} entries left "
                    "before the certification locks",
                    rule="wrong_amount",
                )
            if view.status == OnboardingStatus.BANK_LOCKED:
                raise RefusedError(
                    "that is not the deposited amount; the certification is now locked: "
                    "ops have been asked to unlock it",
                    rule="bank_locked",
                )

        run_async(as_json, body)

    def _decision(name: str, update: str, doc: str, reason_required: bool = False) -> None:
        @onboarding_app.command(name=name, help=doc)
        def command(
            application: App,
            as_user: As,
            reason: Annotated[
                str | None,
                typer.Option(help="Reason (required for a rejection; the applicant is told)."),
            ] = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                if reason_required and not (reason or "").strip():
                    raise BadInputError("--reason: a rejection needs a reason")
                d = Decision(operator=operator(), actor=await ctx.actor(as_user), comment=reason)
                view = await application_update(ctx, application, update, d)
                emit(view, as_json, lambda: _print_application(view))

            run_async(as_json, body)

    _decision("unlock", "unlock", "Unlock a bank certification locked after wrong entries (ops).")
    _decision(
        "approve",
        "approve",
        "Final approval (ecosystem manager): the partner becomes ACTIVE and its admin "
        "user is created from the contact.",
    )
    _decision("reject", "reject", "Final rejection with --reason (ecosystem manager).", True)
    _decision("withdraw", "withdraw", "Withdraw a pending application (the applicant, or ops).")

    @onboarding_app.command()
    def review(
        application: App,
        decision: Annotated[ReviewDecision, typer.Option(help="approve or reject.")],
        as_user: As,
        reason: Annotated[
            str | None, typer.Option(help="Why (required to reject; the applicant is told).")
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Decide the business-information review (ecosystem manager; ops once escalated).
        A rejection sends the reason; the applicant edits and resubmits."""

        async def body(ctx: AppContext) -> None:
            if decision == ReviewDecision.REJECT and not (reason or "").strip():
                raise BadInputError("--reason: a rejection needs a reason")
            d = Decision(operator=operator(), actor=await ctx.actor(as_user), comment=reason)
            view = await application_update(ctx, application, f"review_{decision.value}", d)
            emit(view, as_json, lambda: _print_application(view))

        run_async(as_json, body)

    @onboarding_app.command()
    def sign(
        application: App,
        as_user: As,
        agreement: Annotated[
            AgreementChoice,
            typer.Option(help="The partner agreement, the integrity commitment, or both."),
        ] = AgreementChoice.BOTH,
        as_json: Json = False,
    ) -> None:
        """Sign the partner agreement and/or the integrity commitment (the applicant)."""

        async def body(ctx: AppContext) -> None:
            actor = await ctx.actor(as_user)
            updates = {
                AgreementChoice.PARTNER: ["sign_partner_agreement"],
                AgreementChoice.INTEGRITY: ["sign_integrity_commitment"],
                AgreementChoice.BOTH: ["sign_partner_agreement", "sign_integrity_commitment"],
            }[agreement]
            view: OnboardingView | None = None
            for update in updates:
                view = await application_update(
                    ctx, application, update, Decision(operator=operator(), actor=actor)
                )
            assert view is not None
            emit(view, as_json, lambda: _print_application(view))

        run_async(as_json, body)

    @path_app.command("invite")
    def path_invite(
        partner: PartnerOpt,
        path: PathOpt,
        as_user: As,
        validity: Annotated[
            str | None,
            typer.Option(
                help="How long the emailed link stays valid (default: "
                f"PARTNERFLOW_PATH_INVITATION_VALIDITY, 7d); {DURATION_HELP}."
            ),
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Invite an ACTIVE partner to a development path (ecosystem manager or ops); its
        admin receives a signed link to join."""

        async def body(ctx: AppContext) -> None:
            s = ctx.settings
            req = PathInvitation(
                partner_id=partner,
                path=path,
                invited_by=await ctx.actor(as_user),
                validity=parse_duration(validity, "--validity")
                if validity
                else s.path_invitation_validity,
                thresholds=path_thresholds(s),
                approval_working_days=s.onboarding_review_working_days,
                calendar=work_calendar(s),
            )
            await path_precheck(ctx, req)
            client = await ctx.client()
            wf_id = path_workflow_id(partner, path)
            async with temporal_errors("path invite"):
                handle = await client.start_workflow(
                    DevelopmentPathWorkflow.run,
                    req,
                    id=wf_id,
                    task_queue=s.task_queue,
                    search_attributes=TypedSearchAttributes(
                        [SearchAttributePair(PARTNER_ID, partner)]
                    ),
                )
            raw = await wait_for_query(
                handle, "status", lambda v: v and v.get("status") != PathStatus.CHECKING.value
            )
            if raw is None:
                raise RefusedError(
                    f"{wf_id} was started but no worker answered; is the worker running?",
                    rule="no_worker",
                )
            view = PathView.model_validate(raw)
            if view.status == PathStatus.REFUSED:
                raise RefusedError(view.reason or "refused", rule="path_refused", details=view)
            emit(view, as_json, lambda: _print_path(view))

        run_async(as_json, body)

    def _path_decision(name: str, update: str, doc: str, reason_required: bool = False) -> None:
        @path_app.command(name=name, help=doc)
        def command(
            partner: PartnerOpt,
            path: PathOpt,
            as_user: As,
            reason: Annotated[
                str | None, typer.Option(help="Reason (required for a rejection).")
            ] = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                if reason_required and not (reason or "").strip():
                    raise BadInputError("--reason: a rejection needs a reason")
                d = Decision(operator=operator(), actor=await ctx.actor(as_user), comment=reason)
                view = await path_update(ctx, partner, path, update, d)
                emit(view, as_json, lambda: _print_path(view))
                if view.status == PathStatus.REFUSED:
                    raise RefusedError(view.reason or "refused", rule="path_refused")

            run_async(as_json, body)

    _path_decision("join", "join", "Join the path the partner was invited to (its admin).")
    _path_decision("leave", "leave", "Leave the path; only before role certification (admin).")
    _path_decision(
        "approve",
        "approve",
        "Approve what awaits the ecosystem manager on the path: a certification "
        "request (threshold re-checked), or a further account of the company "
        "choosing the software path.",
    )
    _path_decision("reject", "reject", "Reject it, with --reason (ecosystem manager).", True)

    @path_app.command("certify")
    def path_certify(
        partner: PartnerOpt,
        path: PathOpt,
        level: Annotated[CertLevel, typer.Option(help="The certification level asked for.")],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Ask for a certification level (partner admin): checked against the path's
        threshold now; refused with what is missing, else sent to the ecosystem manager."""

        async def body(ctx: AppContext) -> None:
            ask = CertificationAsk(actor=await ctx.actor(as_user), level=level)
            view = await path_update(ctx, partner, path, "request_certification", ask)
            emit(view, as_json, lambda: _print_path(view))

        run_async(as_json, body)

    @partner_app.command("show")
    def partner_show(
        partner: Annotated[str, typer.Argument(help="Partner id.")], as_json: Json = False
    ) -> None:
        """A partner's account, users, paths, certifications and the facts they read, with
        what each path level still needs."""

        async def body(ctx: AppContext) -> None:
            report = await partner_report(ctx, partner)
            emit(report, as_json, lambda: _print_partner(report))

        run_async(as_json, body)

    @partner_app.command("record-solutions")
    def record_solutions(
        partner: Annotated[str, typer.Argument(help="Partner id.")],
        certified: Annotated[int, typer.Option(help="Certified cloud software solutions.", min=0)],
        advanced: Annotated[int, typer.Option(help="Of which advanced certified.", min=0)],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Record the partner's certified solution counts (ops); path requests re-read them."""

        async def body(ctx: AppContext) -> None:
            actor = await require_ops(ctx, as_user)
            if advanced > certified:
                raise BadInputError("--advanced: cannot exceed --certified")
            async with ctx.sessions.begin() as s:
                row = await s.get(Partner, partner)
                if row is None:
                    raise BadInputError(f"PARTNER: no partner with id {partner!r}")
                row.certified_solutions, row.advanced_solutions = certified, advanced
            out = {
                "partner_id": partner,
                "certified_solutions": certified,
                "advanced_solutions": advanced,
                "recorded_by": actor.user_id,
            }
            emit(out, as_json, f"{partner}: {certified} certified solution(s), {advanced} advanced")

        run_async(as_json, body)

    @partner_app.command("record-certificate")
    def record_certificate(
        partner: Annotated[str, typer.Argument(help="Partner id.")],
        holder: Annotated[str, typer.Option(help="The person's personal account id.")],
        kind: Annotated[CertificateKind, typer.Option(help="Certificate.")],
        number: Annotated[str, typer.Option(help="Certificate number (unique).")],
        as_user: As,
        holder_name: Annotated[str, typer.Option(help="The person's name.")] = "",
        issued: Annotated[str | None, typer.Option(help="Issue date, YYYY-MM-DD.")] = None,
        expires: Annotated[str | None, typer.Option(help="Expiry date, YYYY-MM-DD.")] = None,
        as_json: Json = False,
    ) -> None:
        """Record a staff member's certificate held on a personal account (ops)."""

        async def body(ctx: AppContext) -> None:
            actor = await require_ops(ctx, as_user)
            issued_on, expires_on = (
                _parse_date(issued, "--issued"),
                _parse_date(expires, "--expires"),
            )
            try:
                async with ctx.sessions.begin() as s:
                    if await s.get(Partner, partner) is None:
                        raise BadInputError(f"PARTNER: no partner with id {partner!r}")
                    s.add(
                        StaffCertificateRow(
                            partner_id=partner,
                            holder=holder,
                            holder_name=holder_name,
                            kind=kind.value,
                            number=number,
                            issued_on=issued_on,
                            expires_on=expires_on,
                            recorded_by=actor.user_id,
                            recorded_at=utcnow(),
                        )
                    )
            except IntegrityError:
                raise RefusedError(
                    f"certificate {number} is already recorded", rule="certificate_exists"
                ) from None
            out = {"partner_id": partner, "holder": holder, "kind": kind.value, "number": number}
            emit(out, as_json, f"{partner}: {kind.value} {number} of {holder} recorded")

        run_async(as_json, body)

    @partner_app.command("record-case")
    def record_case(
        partner: Annotated[str, typer.Argument(help="Partner id.")],
        case_id: Annotated[str, typer.Option(help="Case id (unique).")],
        title: Annotated[str, typer.Option(help="What was delivered.")],
        completed: Annotated[str, typer.Option(help="Completion date, YYYY-MM-DD.")],
        as_user: As,
        customer: Annotated[str, typer.Option(help="The customer served.")] = "",
        as_json: Json = False,
    ) -> None:
        """Record a cloud service case the partner delivered (ops)."""

        async def body(ctx: AppContext) -> None:
            actor = await require_ops(ctx, as_user)
            completed_on = _parse_date(completed, "--completed")
            assert completed_on is not None
            if completed_on > utcnow().date():
                raise BadInputError("--completed: the date is in the future")
            try:
                async with ctx.sessions.begin() as s:
                    if await s.get(Partner, partner) is None:
                        raise BadInputError(f"PARTNER: no partner with id {partner!r}")
                    s.add(
                        CloudServiceCase(
                            partner_id=partner,
                            case_id=case_id,
                            title=title,
                            customer_name=customer,
                            completed_on=completed_on,
                            recorded_by=actor.user_id,
                            recorded_at=utcnow(),
                        )
                    )
            except IntegrityError:
                raise RefusedError(
                    f"case {case_id} is already recorded", rule="case_exists"
                ) from None
            out = {"partner_id": partner, "case_id": case_id, "completed_on": completed_on}
            emit(out, as_json, f"{partner}: case {case_id} recorded")

        run_async(as_json, body)

    app.add_typer(onboarding_app, name="onboarding")
    app.add_typer(path_app, name="path")
    app.add_typer(partner_app, name="partner")
