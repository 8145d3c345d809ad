"""Start forms: invite, unbind, switch mode, apply for onboarding, invite to a path, start a
payout, request an authorization, run the renewal scan. Each is one input model (the CLI
command's options) and one function that calls the same service the CLI calls."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.authorizations import AuthorizationRequest
from domain.invitations import Channel, InvitationRequest
from domain.parties import Actor, AssociationMode, Role
from domain.types import Ident, Text
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
        return Done.of(view, N_("Invitation sent to %(email)s."), email=view.sent_to)
    return Done.of(
        view, N_("Invitation %(id)s created: hand its link to the customer."), id=view.workflow_id
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
    return Done.status_of(view, N_("Authorization %(id)s: %(status)s."))


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
]
