"""Start forms of the vendor's staff and of applicants: apply for onboarding, invite a partner
to a development path, start a payout, run the renewal scan. Each is one input model (the CLI
command's options) and one function that calls the same service the CLI calls."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import Field

from domain.certification import DevelopmentPath, PathInvitation
from domain.parties import Actor, PartnerType, Role
from domain.types import Name, Text
from infra.i18n import N_
from starter.services.commands_base import (
    CommandInput,
    Done,
    Duration,
    Kind,
    roles,
)
from starter.services.commands_start import (
    GROUP_MONEY,
    GROUP_PARTNERS,
    PartnerId,
)
from starter.services.context import AppContext

# ----- onboarding and development paths ---------------------------------------------------------


class OnboardInput(CommandInput):
    """``partnerflow onboard``."""

    company: Name = Field(title=N_("Company name"), description=N_("The registered name."))
    uscc: str = Field(
        max_length=40,
        title=N_("Unified social credit code"),
        description=N_("18 characters; the last one is a check character."),
    )
    email: str = Field(
        max_length=254,
        title=N_("Contact email"),
        description=N_("The partner admin user gets this address."),
    )
    partner_type: PartnerType = Field(title=N_("Partner type"))
    contact_name: Annotated[Text, Field(max_length=200)] = Field("", title=N_("Contact name"))


async def onboard(ctx: AppContext, actor: Actor, i: OnboardInput) -> Done:
    """Submits a partner application (one open application per company)."""
    from starter.services.onboarding import application_form, start_application

    form = application_form(i.company, i.uscc, i.email, i.partner_type, i.contact_name)
    view = await start_application(ctx, form, actor)
    return Done.of(
        view,
        N_("Application %(id)s submitted; next: the business information."),
        id=view.workflow_id,
    )


class PathInviteInput(CommandInput):
    """``partnerflow path invite``."""

    partner: PartnerId
    path: DevelopmentPath = Field(title=N_("Development path"))
    validity: Duration | None = Field(
        None,
        title=N_("Validity"),
        description=N_("How long the emailed link stays valid (empty: the configured default)."),
    )


async def path_invite(ctx: AppContext, actor: Actor, i: PathInviteInput) -> Done:
    """Invites an ACTIVE partner to a development path; its admin gets a link to join."""
    from starter.services.onboarding import path_thresholds, start_path, work_calendar

    s = ctx.settings
    view = await start_path(
        ctx,
        PathInvitation(
            partner_id=i.partner,
            path=i.path,
            invited_by=actor,
            validity=i.validity or s.path_invitation_validity,
            thresholds=path_thresholds(s),
            approval_working_days=s.onboarding_review_working_days,
            calendar=work_calendar(s),
        ),
    )
    return Done.of(
        view,
        N_("Partner %(partner)s invited to the %(path)s path."),
        partner=i.partner,
        path=i.path.value,
    )


# ----- payouts, authorizations, renewals -----------------------------------------------------


class PayoutStartInput(CommandInput):
    """``partnerflow payout start``."""

    partner: PartnerId
    period: str = Field(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        title=N_("Month"),
        description=N_("YYYY-MM, a month that has ended."),
    )
    invoice_window: Duration | None = Field(
        None,
        title=N_("Invoice window"),
        description=N_("How long the partner has to invoice (empty: the configured default)."),
    )


async def payout_start(ctx: AppContext, actor: Actor, i: PayoutStartInput) -> Done:
    """Starts one partner's payout for a month; the statement is calculated at once."""
    from starter.services.incentives import payout_defaults, precheck_start, start_payout

    await precheck_start(ctx, actor, i.partner, i.period)
    defaults = payout_defaults(ctx.settings)
    if i.invoice_window is not None:
        defaults.invoice_window = i.invoice_window
    view = await start_payout(ctx, defaults.request(i.partner, i.period, actor.user_id))
    return Done.status_of(view, N_("Payout %(id)s started: %(status)s."))


class ScanInput(CommandInput):
    """``partnerflow renewals scan``."""

    as_of: date | None = Field(
        None,
        title=N_("As of"),
        description=N_("Scan as of this day (UTC); empty: now."),
    )


async def renewal_scan(ctx: AppContext, actor: Actor, i: ScanInput) -> Done:
    """Runs the big-order scan of one day and waits for its counts."""
    from domain.renewals import scan_workflow_id
    from infra.db import utcnow
    from starter.services.renewals import run_scan

    as_of = datetime(i.as_of.year, i.as_of.month, i.as_of.day, tzinfo=UTC) if i.as_of else utcnow()
    result = await run_scan(ctx, as_of)
    return Done(
        scan_workflow_id(as_of),
        N_("Scan as of %(day)s: %(candidates)s order(s) need a task, %(started)s started."),
        {
            "day": f"{result.as_of:%Y-%m-%d}",
            "candidates": str(result.candidates),
            "started": str(result.started),
        },
        result,
    )


VENDOR_KINDS = [
    Kind(
        "onboard",
        N_("Apply for onboarding"),
        GROUP_PARTNERS,
        roles(Role.OPS, Role.CUSTOMER, Role.PARTNER_ADMIN),
        OnboardInput,
        onboard,
        about=N_("One open application per company; next comes the business information."),
    ),
    Kind(
        "path-invite",
        N_("Invite to a development path"),
        GROUP_PARTNERS,
        roles(Role.OPS, Role.ECOSYSTEM_MANAGER),
        PathInviteInput,
        path_invite,
        about=N_("The partner's admin gets a link to join the path."),
    ),
    Kind(
        "payout-start",
        N_("Start a payout"),
        GROUP_MONEY,
        roles(Role.OPS),
        PayoutStartInput,
        payout_start,
        about=N_("One partner and month; the monthly schedule starts them for every partner."),
    ),
    Kind(
        "renewals-scan",
        N_("Run the renewal scan"),
        GROUP_MONEY,
        roles(Role.OPS),
        ScanInput,
        renewal_scan,
        about=N_("Big orders near expiry get one renewal task each; running it again is safe."),
    ),
]
