"""Start forms: invite, unbind, switch mode, apply for onboarding, invite to a path, start a
payout, request an authorization, run the renewal scan. Each is one input model (the CLI
command's options) and one function that calls the same service the CLI calls."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import Field

from domain.authorizations import AuthorizationRequest
from domain.certification import DevelopmentPath, PathInvitation
from domain.invitations import Channel, InvitationRequest
from domain.parties import Actor, AssociationMode, PartnerType, Role
from domain.types import Ident, Name, Text
from domain.unbinding import ChangeKind
from infra.i18n import N_
from infra.tables import Binding
from starter.services.commands_base import (
    CommandInput,
    Done,
    Duration,
    Kind,
    Offset,
    Parties,
    roles,
)
from starter.services.context import AppContext

PARTNER_USERS = roles(Role.PARTNER_ADMIN, Role.PARTNER_STAFF)

PartnerId = Annotated[Ident, Field(title=N_("Partner"), description=N_("Partner id, e.g. P-1."))]
CustomerId = Annotated[
    Ident, Field(title=N_("Customer"), description=N_("Customer id, e.g. C-17."))
]
Reason = Annotated[
    Text | None,
    Field(
        None,
        max_length=1000,
        title=N_("Reason"),
        description=N_("Why: shown to the other side."),
    ),
]
Window = Annotated[
    Duration | None,
    Field(
        None,
        title=N_("Answer window"),
        description=N_(
            "How long the other side has to answer, e.g. 7d or 36h (empty: the configured default)."
        ),
    ),
]
ReminderBefore = Annotated[
    Offset | None,
    Field(
        None,
        title=N_("Reminder before"),
        description=N_(
            "Remind this long before the deadline, e.g. 1d, or 0s (empty: the configured default)."
        ),
    ),
]


# ----- invitations -------------------------------------------------------------------------------


class InviteInput(CommandInput):
    """``partnerflow invite``."""

    partner: PartnerId
    customer: CustomerId
    mode: AssociationMode = Field(
        AssociationMode.RESALE,
        title=N_("Association type"),
        description=N_("Resale needs no permission; consulting needs the ecosystem manager's."),
    )
    channel: Channel = Field(
        Channel.EMAIL,
        title=N_("Channel"),
        description=N_("email: the link is valid for the validity; offline: it never expires."),
    )
    validity: Duration | None = Field(
        None,
        title=N_("Validity"),
        description=N_(
            "How long an emailed invitation stays valid, e.g. 7d (empty: the configured default)."
        ),
    )
    reminder_before: ReminderBefore


def invitation_request(ctx: AppContext, actor: Actor, i: InviteInput) -> InvitationRequest:
    """The workflow input, with the configured durations where the form left them empty."""
    s = ctx.settings
    return InvitationRequest(
        partner_id=i.partner,
        customer_id=i.customer,
        mode=i.mode,
        channel=i.channel,
        requested_by=actor,
        validity=i.validity or s.invitation_validity,
        reminder_before=i.reminder_before
        if i.reminder_before is not None
        else s.invitation_reminder_before,
    )


async def invite(ctx: AppContext, actor: Actor, i: InviteInput) -> Done:
    """Pre-checks eligibility, starts the invitation and waits until it is sent."""
    from starter.services.invitations import start_invitation

    view = await start_invitation(ctx, invitation_request(ctx, actor, i))
    if view.sent_to:
        return Done(
            view.workflow_id,
            N_("Invitation sent to %(email)s."),
            {"email": view.sent_to},
            view,
        )
    return Done(
        view.workflow_id,
        N_("Invitation %(id)s created: hand its link to the customer."),
        {"id": view.workflow_id},
        view,
    )


# ----- unbinding and mode switch ----------------------------------------------------------------


class UnbindInput(CommandInput):
    """``partnerflow unbind``."""

    binding: int = Field(
        gt=0,
        title=N_("Binding"),
        description=N_("Binding id, shown on the invitation's case page."),
    )
    reason: Reason
    window: Window
    reminder_before: ReminderBefore


class SwitchModeInput(UnbindInput):
    """``partnerflow switch-mode``."""

    to: AssociationMode = Field(title=N_("New association type"))


async def binding_parties(ctx: AppContext, i: UnbindInput) -> Parties | None:
    """The partner and customer of the binding a request names (None: no such binding)."""
    async with ctx.sessions() as s:
        row = await s.get(Binding, i.binding)
    return Parties(partner_id=row.partner_id, customer_id=row.customer_id) if row else None


async def _change(ctx: AppContext, actor: Actor, i: UnbindInput, kind: ChangeKind) -> Done:
    from starter.services.unbinding import change_request, start_change

    req = change_request(
        ctx.settings,
        i.binding,
        kind,
        actor,
        to_mode=i.to if isinstance(i, SwitchModeInput) else None,
        reason=i.reason,
        window=i.window,
        reminder_before=i.reminder_before,
    )
    view = await start_change(ctx, req)
    return Done(
        view.workflow_id,
        N_("Request %(id)s sent: the other side has until %(until)s to answer."),
        {
            "id": view.workflow_id,
            "until": f"{view.expires_at:%Y-%m-%d %H:%M} UTC" if view.expires_at else "-",
        },
        view,
    )


async def unbind(ctx: AppContext, actor: Actor, i: UnbindInput) -> Done:
    """Asks the other side to end the binding (pre-checks and frequency limit first)."""
    return await _change(ctx, actor, i, ChangeKind.UNBIND)


async def switch_mode(ctx: AppContext, actor: Actor, i: SwitchModeInput) -> Done:
    """Asks the customer to switch the binding's association type."""
    return await _change(ctx, actor, i, ChangeKind.SWITCH_MODE)


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
    return Done(
        view.workflow_id,
        N_("Application %(id)s submitted; next: the business information."),
        {"id": view.workflow_id},
        view,
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
    return Done(
        view.workflow_id,
        N_("Partner %(partner)s invited to the %(path)s path."),
        {"partner": i.partner, "path": i.path.value},
        view,
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
    return Done(
        view.workflow_id,
        N_("Payout %(id)s started: %(status)s."),
        {"id": view.workflow_id, "status": view.status.value},
        view,
    )


class AuthorizationRequestInput(CommandInput):
    """``partnerflow authorization request``."""

    partner: PartnerId
    customer: CustomerId
    accept_letter: bool = Field(
        False,
        title=N_("We accept the commitment letter for operating on the customer's behalf"),
        description=N_("Needed on the partner's first authorization request."),
    )
    purpose: Annotated[Text, Field(max_length=500)] = Field(
        "", title=N_("Purpose"), description=N_("What the partner will order.")
    )


async def authorization_request(
    ctx: AppContext, actor: Actor, i: AuthorizationRequestInput
) -> Done:
    """Asks a resale customer for its authorization (an approved one is reused)."""
    from starter.services.renewals import request_authorization

    s = ctx.settings
    view = await request_authorization(
        ctx,
        AuthorizationRequest(
            partner_id=i.partner,
            customer_id=i.customer,
            requested_by=actor,
            accept_commitment_letter=i.accept_letter,
            purpose=i.purpose,
            validity=s.authorization_validity,
            request_window=s.authorization_request_window,
        ),
    )
    return Done(
        view.workflow_id,
        N_("Authorization %(id)s: %(status)s."),
        {"id": view.workflow_id, "status": view.status.value},
        view,
    )


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


GROUP_CUSTOMERS = N_("Customers")
GROUP_PARTNERS = N_("Partners")
GROUP_MONEY = N_("Payouts and renewals")

START_KINDS = [
    Kind(
        "invite",
        N_("Invite a customer"),
        GROUP_CUSTOMERS,
        roles(Role.OPS, *PARTNER_USERS),
        InviteInput,
        invite,
        about=N_("Eligibility is checked first; the customer gets an email with a link."),
        partner_field="partner",
        button=N_("Send the invitation"),
    ),
    Kind(
        "unbind",
        N_("Unbind a customer"),
        GROUP_CUSTOMERS,
        roles(Role.PARTNER_ADMIN, Role.CUSTOMER),
        UnbindInput,
        unbind,
        about=N_("The other side approves; pre-checks and the frequency limit apply first."),
        scope=binding_parties,
        button=N_("Ask to unbind"),
    ),
    Kind(
        "switch-mode",
        N_("Switch the association type"),
        GROUP_CUSTOMERS,
        roles(Role.PARTNER_ADMIN),
        SwitchModeInput,
        switch_mode,
        about=N_("The customer approves; resale is refused for a customer with a credit account."),
        scope=binding_parties,
        button=N_("Ask to switch"),
    ),
    Kind(
        "authorization-request",
        N_("Request an authorization"),
        GROUP_CUSTOMERS,
        roles(Role.OPS, *PARTNER_USERS),
        AuthorizationRequestInput,
        authorization_request,
        about=N_("A resale customer authorizes its partner to order on its behalf."),
        partner_field="partner",
    ),
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
