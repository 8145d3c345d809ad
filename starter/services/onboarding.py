"""Onboarding and development-path services: applications, paths, partner reports."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any, TypeAlias

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.workflow import UpdateMethodMultiParam

from activities.onboarding import read_path_facts
from activities.parties import partner_snapshot
from domain.certification import (
    LEVELS,
    CertLevel,
    DevelopmentPath,
    PathFacts,
    PathInvitation,
    PathStatus,
    PathThresholds,
    PathView,
    ServiceThresholds,
    SoftwareThresholds,
    company_path_refusal,
    shortfalls,
)
from domain.onboarding import (
    FINAL_STATUSES,
    ApplicationForm,
    OnboardingRequest,
    OnboardingStatus,
    OnboardingTiming,
    OnboardingView,
    WorkCalendar,
)
from domain.parties import Actor, PartnerStatus, PartnerType, Role
from domain.rules import status_rule
from domain.uscc import normalize_uscc, uscc_problem
from infra.config import Settings
from infra.db import utcnow
from infra.tables import (
    OnboardingApplication,
    Partner,
    PathCertification,
    PathMembership,
    User,
)
from infra.tables.onboarding import ACTIVE_MEMBERSHIP_STATUSES
from infra.temporal import index_attributes
from starter.services.actors import resolve_actor
from starter.services.context import AppContext, start_checked, temporal_errors
from starter.services.errors import BadInputError, RefusedError
from workflows.development_path import DevelopmentPathWorkflow
from workflows.onboarding import OnboardingWorkflow

OPEN_APPLICATION_STATUSES = [s.value for s in OnboardingStatus if s not in FINAL_STATUSES]


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
    # Start and wait for the registration in one call (update-with-start), no status polling.
    start = WithStartWorkflowOperation(
        OnboardingWorkflow.run,
        req,
        id=wf_id,
        task_queue=ctx.settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    return await start_checked(
        client, OnboardingWorkflow.checked, start, what="onboard", started=f"application {wf_id}"
    )


OnboardingUpdate: TypeAlias = UpdateMethodMultiParam[[OnboardingWorkflow, Any], OnboardingView]
PathUpdate: TypeAlias = UpdateMethodMultiParam[[DevelopmentPathWorkflow, Any], PathView]

# The actions a front door may ask of an application or a path membership, by the name the CLI
# and the console use: each is the workflow's update method itself, so a renamed or removed
# update fails type checking here instead of at run time.
APPLICATION_UPDATES: dict[str, OnboardingUpdate] = {
    "submit_business_info": OnboardingWorkflow.submit_business_info,
    "enter_amount": OnboardingWorkflow.enter_amount,
    "unlock": OnboardingWorkflow.unlock,
    "sign_partner_agreement": OnboardingWorkflow.sign_partner_agreement,
    "sign_integrity_commitment": OnboardingWorkflow.sign_integrity_commitment,
    "withdraw": OnboardingWorkflow.withdraw,
    "review_approve": OnboardingWorkflow.review_approve,
    "review_reject": OnboardingWorkflow.review_reject,
    "approve": OnboardingWorkflow.approve,
    "reject": OnboardingWorkflow.reject,
}
PATH_UPDATES: dict[str, PathUpdate] = {
    "join": DevelopmentPathWorkflow.join,
    "request_certification": DevelopmentPathWorkflow.request_certification,
    "leave": DevelopmentPathWorkflow.leave,
    "approve": DevelopmentPathWorkflow.approve,
    "reject": DevelopmentPathWorkflow.reject,
}


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
            return await handle.execute_update(APPLICATION_UPDATES[update], payload, id=nonce)
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


async def start_path(ctx: AppContext, req: PathInvitation) -> PathView:
    """Pre-checks, starts the path workflow and waits until the partner has been invited."""
    await path_precheck(ctx, req)
    client = await ctx.client()
    wf_id = path_workflow_id(req.partner_id, req.path)
    # Start and wait for the first checks in one call (update-with-start), no status polling.
    start = WithStartWorkflowOperation(
        DevelopmentPathWorkflow.run,
        req,
        id=wf_id,
        task_queue=ctx.settings.task_queue,
        search_attributes=index_attributes(partner_id=req.partner_id),
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    view = await start_checked(
        client, DevelopmentPathWorkflow.checked, start, what="path invite", started=wf_id
    )
    if view.status == PathStatus.REFUSED:
        raise RefusedError(view.reason or "refused", rule="path_refused", details=view)
    return view


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
            return await handle.execute_update(PATH_UPDATES[update], payload, id=nonce)
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        raise RefusedError(
            f"partner {partner_id} has no open {path.value} path membership ({wf_id}); "
            "the vendor invites first (partnerflow path invite)",
            rule="path_not_open",
        ) from None


async def load_facts(s: AsyncSession, partner_id: str) -> PathFacts:
    """The facts the path thresholds read, read as the workflow's activity reads them."""
    facts = await read_path_facts(s, partner_id)
    if facts is None:
        raise BadInputError(f"PARTNER: no partner with id {partner_id!r}")
    return facts


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
                m.marked() for m in shortfalls(path, level, facts, thresholds, today, held)
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


async def require_ops(ctx: AppContext, user_id: str) -> Actor:
    """Ops record the facts certification reads."""
    return await resolve_actor(
        ctx.sessions,
        user_id,
        roles={Role.OPS},
        refusal="only ops record partner facts",
        rule="not_ops",
    )


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"{option}: {value!r} is not a date like 2026-11-23") from None


class AgreementChoice(StrEnum):
    """Which agreement ``onboarding sign`` signs."""

    PARTNER = "partner"
    INTEGRITY = "integrity"
    BOTH = "both"


class ReviewDecision(StrEnum):
    """The outcome of the business-information review."""

    APPROVE = "approve"
    REJECT = "reject"
