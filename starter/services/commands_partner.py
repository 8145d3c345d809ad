"""Forms on a partner rather than a workflow: ops record the facts certification reads
(solutions, certificates, cases) and tell held payouts that the certification is recorded;
a partner's admin joins, leaves or asks for certification on its development path."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.certification import (
    CertificateKind,
    CertificationAsk,
    CertLevel,
    DevelopmentPath,
    PathStatus,
)
from domain.incentives import CertificationRecorded, PayoutStatus
from domain.parties import Actor, Decision, Role
from domain.types import Ident, Name, Text
from infra.db import Base, utcnow
from infra.i18n import N_
from infra.tables import CloudServiceCase, IncentivePayout, Partner, StaffCertificateRow
from starter.services.commands_base import CommandInput, Done, Kind, roles
from starter.services.commands_start import GROUP_PARTNERS, PartnerId
from starter.services.context import AppContext, operator, temporal_errors
from starter.services.errors import BadInputError, RefusedError

# ----- facts ops record --------------------------------------------------------------------------


class RecordSolutionsInput(CommandInput):
    """``partnerflow partner record-solutions``."""

    partner: PartnerId
    certified: int = Field(ge=0, title=N_("Certified cloud software solutions"))
    advanced: int = Field(ge=0, title=N_("Of which advanced certified"))

    @model_validator(mode="after")
    def _advanced_within_certified(self) -> RecordSolutionsInput:
        if self.advanced > self.certified:
            raise ValueError("advanced: cannot exceed certified")
        return self


def _require_ops(actor: Actor) -> None:
    if actor.role != Role.OPS:
        raise RefusedError(f"only ops record partner facts, not {actor.describe()}", rule="not_ops")


async def _partner(s: AsyncSession, partner_id: str) -> Partner:
    """The partner's row; an unknown id is the --partner field's error."""
    row = await s.get(Partner, partner_id)
    if row is None:
        raise BadInputError(f"--partner: no partner with id {partner_id!r}")
    return row


async def _add_fact(ctx: AppContext, partner_id: str, row: Base, refusal: RefusedError) -> None:
    """Adds a fact row of an existing partner; one already recorded (its unique key) is
    refused with ``refusal``."""
    try:
        async with ctx.sessions.begin() as s:
            await _partner(s, partner_id)
            s.add(row)
    except IntegrityError:
        raise refusal from None


async def record_solutions(ctx: AppContext, actor: Actor, i: RecordSolutionsInput) -> Done:
    """Records the partner's certified solution counts; path requests re-read them."""
    _require_ops(actor)
    async with ctx.sessions.begin() as s:
        row = await _partner(s, i.partner)
        row.certified_solutions, row.advanced_solutions = i.certified, i.advanced
    return Done(
        None,
        N_("%(partner)s: %(certified)s certified solution(s), %(advanced)s advanced."),
        {"partner": i.partner, "certified": str(i.certified), "advanced": str(i.advanced)},
        {
            "partner_id": i.partner,
            "certified_solutions": i.certified,
            "advanced_solutions": i.advanced,
            "recorded_by": actor.user_id,
        },
    )


class RecordCertificateInput(CommandInput):
    """``partnerflow partner record-certificate``."""

    partner: PartnerId
    holder: Ident = Field(title=N_("Holder"), description=N_("The person's personal account id."))
    kind: CertificateKind = Field(title=N_("Certificate"))
    number: Annotated[Text, Field(min_length=1, max_length=64)] = Field(
        title=N_("Certificate number"), description=N_("Unique.")
    )
    holder_name: Annotated[Text, Field(max_length=200)] = Field("", title=N_("Holder's name"))
    issued: date | None = Field(None, title=N_("Issued on"))
    expires: date | None = Field(None, title=N_("Expires on"))


async def record_certificate(ctx: AppContext, actor: Actor, i: RecordCertificateInput) -> Done:
    """Records a staff member's certificate held on a personal account."""
    _require_ops(actor)
    row = StaffCertificateRow(
        partner_id=i.partner,
        holder=i.holder,
        holder_name=i.holder_name,
        kind=i.kind.value,
        number=i.number,
        issued_on=i.issued,
        expires_on=i.expires,
        recorded_by=actor.user_id,
        recorded_at=utcnow(),
    )
    exists = RefusedError(f"certificate {i.number} is already recorded", rule="certificate_exists")
    await _add_fact(ctx, i.partner, row, exists)
    return Done(
        None,
        N_("%(partner)s: %(kind)s %(number)s of %(holder)s recorded."),
        {"partner": i.partner, "kind": i.kind.value, "number": i.number, "holder": i.holder},
        {"partner_id": i.partner, "holder": i.holder, "kind": i.kind.value, "number": i.number},
    )


class RecordCaseInput(CommandInput):
    """``partnerflow partner record-case``."""

    partner: PartnerId
    case_id: Ident = Field(title=N_("Case id"), description=N_("Unique."))
    title: Name = Field(title=N_("What was delivered"))
    completed: date = Field(title=N_("Completed on"))
    customer: Annotated[Text, Field(max_length=200)] = Field("", title=N_("Customer served"))

    @model_validator(mode="after")
    def _not_in_future(self) -> RecordCaseInput:
        if self.completed > utcnow().date():
            raise ValueError("completed: the date is in the future")
        return self


async def record_case(ctx: AppContext, actor: Actor, i: RecordCaseInput) -> Done:
    """Records a cloud service case the partner delivered."""
    _require_ops(actor)
    row = CloudServiceCase(
        partner_id=i.partner,
        case_id=i.case_id,
        title=i.title,
        customer_name=i.customer,
        completed_on=i.completed,
        recorded_by=actor.user_id,
        recorded_at=utcnow(),
    )
    exists = RefusedError(f"case {i.case_id} is already recorded", rule="case_exists")
    await _add_fact(ctx, i.partner, row, exists)
    return Done(
        None,
        N_("%(partner)s: case %(case)s recorded."),
        {"partner": i.partner, "case": i.case_id},
        {"partner_id": i.partner, "case_id": i.case_id, "completed_on": i.completed},
    )


class CertificationRecordedInput(CommandInput):
    """``partnerflow payout certification-recorded``."""

    partner: PartnerId


async def certification_recorded(
    ctx: AppContext, actor: Actor, i: CertificationRecordedInput
) -> Done:
    """Tells the partner's HELD payouts that its business-info certification is recorded."""
    from workflows.incentive import IncentivePayoutWorkflow

    if actor.role != Role.OPS:
        raise RefusedError(f"{actor.describe()} is not ops", rule="not_ops")
    async with ctx.sessions() as s:
        row = await _partner(s, i.partner)
        held = (
            await s.scalars(
                select(IncentivePayout.payout_id).where(
                    IncentivePayout.partner_id == i.partner,
                    IncentivePayout.status == PayoutStatus.HELD.value,
                )
            )
        ).all()
    if not row.business_certified:
        raise RefusedError(
            f"partner {i.partner} is not business-certified in PartnerFlow's data; record "
            "the certification first (onboarding, or `import partners` with "
            "business_certified=true)",
            rule="not_certified",
        )
    client = await ctx.client()
    for payout_id in held:
        async with temporal_errors("certification-recorded"):
            await client.get_workflow_handle(payout_id).signal(
                IncentivePayoutWorkflow.certification_recorded,
                CertificationRecorded(partner_id=i.partner, recorded_by=actor.user_id),
            )
    return Done(
        None,
        N_("%(count)s held payout(s) of %(partner)s signalled."),
        {"count": str(len(held)), "partner": i.partner},
        {"partner_id": i.partner, "signalled": list(held)},
    )


# ----- development path steps of the partner's admin -----------------------------------------


class PathStepInput(CommandInput):
    """``partnerflow path join|leave``: the membership is the partner's on one path."""

    partner: PartnerId
    path: DevelopmentPath = Field(title=N_("Development path"))
    reason: Annotated[Text | None, Field(max_length=1000)] = Field(None, title=N_("Comment"))


class PathCertifyInput(CommandInput):
    """``partnerflow path certify``."""

    partner: PartnerId
    path: DevelopmentPath = Field(title=N_("Development path"))
    level: CertLevel = Field(title=N_("Certification level"))


def path_prefill(workflow_id: str) -> dict[str, str]:
    """``path-P-1-software`` -> the form's partner and path (the path is the last part)."""
    body = workflow_id.removeprefix("path-")
    partner, _, path = body.rpartition("-")
    return {"partner": partner, "path": path} if partner else {}


async def _path_step(ctx: AppContext, actor: Actor, i: PathStepInput, update: str) -> Done:
    from starter.services.onboarding import path_update

    d = Decision(operator=operator(), actor=actor, comment=i.reason)
    view = await path_update(ctx, i.partner, i.path, update, d)
    if view.status == PathStatus.REFUSED:
        raise RefusedError(view.reason or "refused", rule="path_refused")
    return Done.status_of(view, N_("Path %(id)s: %(status)s."))


async def path_join(ctx: AppContext, actor: Actor, i: PathStepInput) -> Done:
    """Joins the path the partner was invited to."""
    return await _path_step(ctx, actor, i, "join")


async def path_leave(ctx: AppContext, actor: Actor, i: PathStepInput) -> Done:
    """Leaves the path (only before role certification)."""
    return await _path_step(ctx, actor, i, "leave")


async def path_certify(ctx: AppContext, actor: Actor, i: PathCertifyInput) -> Done:
    """Asks for a certification level: checked against the threshold now."""
    from starter.services.onboarding import path_update

    ask = CertificationAsk(actor=actor, level=i.level)
    view = await path_update(ctx, i.partner, i.path, "request_certification", ask)
    return Done.status_of(view, N_("Path %(id)s: %(status)s."))


OPS = roles(Role.OPS)
GROUP_FACTS = N_("Partner facts")

PARTNER_KINDS = [
    Kind(
        "path-certify",
        N_("Request certification"),
        GROUP_PARTNERS,
        roles(Role.PARTNER_ADMIN),
        PathCertifyInput,
        path_certify,
        about=N_("Checked against the path's threshold now; refused with what is missing."),
        case="path",
        partner_field="partner",
        prefill=path_prefill,
    ),
    Kind(
        "path-join",
        N_("Join a development path"),
        GROUP_PARTNERS,
        roles(Role.PARTNER_ADMIN),
        PathStepInput,
        path_join,
        about=N_("The path the vendor invited the partner to."),
        case="path",
        partner_field="partner",
        prefill=path_prefill,
    ),
    Kind(
        "path-leave",
        N_("Leave a development path"),
        GROUP_PARTNERS,
        roles(Role.PARTNER_ADMIN),
        PathStepInput,
        path_leave,
        about=N_("Only before role certification."),
        case="path",
        partner_field="partner",
        prefill=path_prefill,
    ),
    Kind(
        "record-solutions",
        N_("Record certified solutions"),
        GROUP_FACTS,
        OPS,
        RecordSolutionsInput,
        record_solutions,
    ),
    Kind(
        "record-certificate",
        N_("Record a staff certificate"),
        GROUP_FACTS,
        OPS,
        RecordCertificateInput,
        record_certificate,
    ),
    Kind(
        "record-case",
        N_("Record a cloud service case"),
        GROUP_FACTS,
        OPS,
        RecordCaseInput,
        record_case,
    ),
    Kind(
        "certification-recorded",
        N_("Release payouts held for certification"),
        GROUP_FACTS,
        OPS,
        CertificationRecordedInput,
        certification_recorded,
        about=N_("The partner's HELD payouts re-check its business-info certification."),
    ),
]
