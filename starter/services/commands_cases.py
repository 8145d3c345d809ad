"""Case actions that are not inbox tasks: cancel or resend an invitation, withdraw a request,
cancel or revoke an authorization, renewal feedback and cancel (the onboarding and payout
steps are in ``commands_steps``). Each takes the case's workflow id (the CLI
command's argument) and calls the service the CLI calls."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field
from sqlalchemy import select

from domain.invitations import Channel, InvitationRequest
from domain.parties import Actor, AssociationMode, Decision, Role
from domain.renewals import RenewalFeedback, RenewalOutcome
from domain.types import Text
from infra.i18n import N_
from infra.tables import Invitation
from starter.services.commands_base import CaseInput, Done, Duration, Kind, Offset, Runner, roles
from starter.services.context import AppContext, operator
from starter.services.errors import BadInputError, RefusedError

PARTNER_USERS = (Role.PARTNER_ADMIN, Role.PARTNER_STAFF)
APPLICANTS = (Role.OPS, Role.CUSTOMER, Role.PARTNER_ADMIN)

Comment = Annotated[
    Text | None,
    Field(None, max_length=1000, title=N_("Comment"), description=N_("Optional.")),
]
Why = Annotated[Text, Field(min_length=1, max_length=1000, title=N_("Reason"))]


def status_done(view_id: str, status: str, view: object) -> Done:
    return Done(view_id, N_("%(id)s is now %(status)s."), {"id": view_id, "status": status}, view)


# ----- invitations -------------------------------------------------------------------------------


class CommentInput(CaseInput):
    """``partnerflow invitation cancel``, ``request cancel``, ``onboarding withdraw``...: the
    case and an optional comment."""

    comment: Comment


async def invitation_cancel(ctx: AppContext, actor: Actor, i: CommentInput) -> Done:
    """Cancels a pending invitation (the partner's user or ops)."""
    from starter.services.invitations import decide

    view = await decide(ctx, i.workflow_id, "cancel", actor, i.comment)
    return status_done(view.workflow_id, view.status.value, view)


class InvitationResendInput(CaseInput):
    """``partnerflow invitation resend``."""

    validity: Duration | None = Field(
        None,
        title=N_("Validity"),
        description=N_("A new validity period (empty: the configured default)."),
    )
    reminder_before: Offset | None = Field(None, title=N_("Reminder before"))


async def invitation_resend(ctx: AppContext, actor: Actor, i: InvitationResendInput) -> Done:
    """Sends an expired, declined or cancelled invitation again."""
    from starter.services.invitations import start_invitation

    async with ctx.sessions() as s:
        row = await s.scalar(
            select(Invitation)
            .where(Invitation.workflow_id == i.workflow_id)
            .order_by(Invitation.id.desc())
        )
    if row is None:
        raise BadInputError(f"no invitation with id {i.workflow_id!r}")
    if row.status == "PENDING":
        raise RefusedError(
            f"invitation {i.workflow_id} is still pending; it cannot be sent twice",
            rule="still_pending",
        )
    st = ctx.settings
    view = await start_invitation(
        ctx,
        InvitationRequest(
            partner_id=row.partner_id,
            customer_id=row.customer_id,
            mode=AssociationMode(row.mode),
            channel=Channel(row.channel),
            requested_by=actor,
            validity=i.validity or st.invitation_validity,
            reminder_before=i.reminder_before
            if i.reminder_before is not None
            else st.invitation_reminder_before,
        ),
    )
    return Done.of(
        view, N_("Invitation sent again to %(email)s."), email=view.sent_to or row.customer_id
    )


# ----- requests and authorizations ----------------------------------------------------------


async def request_cancel(ctx: AppContext, actor: Actor, i: CommentInput) -> Done:
    """Withdraws a pending unbind or switch request (the side that raised it, or ops)."""
    from starter.services.unbinding import decide

    view = await decide(ctx, i.workflow_id, "cancel", actor, i.comment)
    return status_done(view.workflow_id, view.status.value, view)


async def authorization_cancel(ctx: AppContext, actor: Actor, i: CommentInput) -> Done:
    """Says no to an authorization request, or withdraws it (the partner)."""
    from starter.services.renewals import authorization_update

    view = await authorization_update(ctx, i.workflow_id, "cancel", actor, i.comment)
    return status_done(view.workflow_id, view.status.value, view)


class RevokeInput(CaseInput):
    """``partnerflow authorization revoke``."""

    reason: Why


async def authorization_revoke(ctx: AppContext, actor: Actor, i: RevokeInput) -> Done:
    """Revokes an approved authorization (the customer, at any time, with a reason)."""
    from starter.services.renewals import authorization_update

    view = await authorization_update(ctx, i.workflow_id, "revoke", actor, i.reason)
    return status_done(view.workflow_id, view.status.value, view)


class FeedbackInput(CaseInput):
    """``partnerflow renewal feedback``."""

    outcome: RenewalOutcome = Field(title=N_("Outcome"))
    reason: Annotated[Text | None, Field(max_length=1000)] = Field(
        None, title=N_("Reason"), description=N_("Why the customer declines (required for that).")
    )
    accept_letter: bool = Field(
        False,
        title=N_("We accept the commitment letter for operating on the customer's behalf"),
    )


async def renewal_feedback(ctx: AppContext, actor: Actor, i: FeedbackInput) -> Done:
    """Records the customer's intention (partner payment rules checked first)."""
    from starter.services.renewals import feedback_precheck, renewal_update

    fb = RenewalFeedback(
        actor=actor,
        outcome=i.outcome,
        reason=i.reason,
        accept_commitment_letter=i.accept_letter,
        nonce=str(uuid.uuid4()),
    )
    await feedback_precheck(ctx, i.workflow_id, fb)
    view = await renewal_update(ctx, i.workflow_id, "feedback", fb, f"feedback-{fb.nonce}")
    return status_done(view.workflow_id, view.status.value, view)


class RenewalCancelInput(CaseInput):
    """``partnerflow renewal cancel``."""

    reason: Why


async def renewal_cancel(ctx: AppContext, actor: Actor, i: RenewalCancelInput) -> Done:
    """Withdraws a renewal task (ops), e.g. when the order moved to a contract."""
    from starter.services.renewals import _task_row, renewal_update

    await _task_row(ctx, i.workflow_id)
    d = Decision(operator=operator(), actor=actor, comment=i.reason)
    view = await renewal_update(ctx, i.workflow_id, "cancel", d, f"cancel-{uuid.uuid4()}")
    return status_done(view.workflow_id, view.status.value, view)


GROUP = N_("Case actions")


def case_kind(
    name: str, title: str, case: str, who: tuple[Role, ...], model: type[CaseInput], run: Runner
) -> Kind:
    """A case action on workflows of type ``case``, listed under "Case actions"."""
    return Kind(name, title, GROUP, roles(*who), model, run, case=case)


CASE_KINDS = [
    case_kind(
        "invitation-cancel",
        N_("Cancel the invitation"),
        "invitation",
        (Role.OPS, *PARTNER_USERS),
        CommentInput,
        invitation_cancel,
    ),
    case_kind(
        "invitation-resend",
        N_("Send the invitation again"),
        "invitation",
        (Role.OPS, *PARTNER_USERS),
        InvitationResendInput,
        invitation_resend,
    ),
    case_kind(
        "request-cancel",
        N_("Withdraw the request"),
        "binding-change",
        (Role.OPS, Role.PARTNER_ADMIN, Role.CUSTOMER),
        CommentInput,
        request_cancel,
    ),
    case_kind(
        "authorization-cancel",
        N_("Cancel the authorization request"),
        "authorization",
        (Role.OPS, Role.CUSTOMER, *PARTNER_USERS),
        CommentInput,
        authorization_cancel,
    ),
    case_kind(
        "authorization-revoke",
        N_("Revoke the authorization"),
        "authorization",
        (Role.OPS, Role.CUSTOMER),
        RevokeInput,
        authorization_revoke,
    ),
    case_kind(
        "renewal-feedback",
        N_("Record the customer's intention"),
        "renewal",
        PARTNER_USERS,
        FeedbackInput,
        renewal_feedback,
    ),
    case_kind(
        "renewal-cancel",
        N_("Withdraw the renewal task"),
        "renewal",
        (Role.OPS,),
        RenewalCancelInput,
        renewal_cancel,
    ),
]
