"""A partner invites a customer; the customer accepts (binding) or declines, or it expires."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

from domain.text import N_

with workflow.unsafe.imports_passed_through():
    from activities.invitations import InvitationActivities
    from domain.errors import InvalidStateError, PermissionDeniedError
    from domain.invitation_models import CreateBinding, LoadContext, RecordInvitation
    from domain.invitations import (
        FINAL_STATUSES,
        Channel,
        EmailChanged,
        InvitationContext,
        InvitationRequest,
        InvitationStatus,
        InvitationView,
        Refusal,
        already_bound_here,
        binding_refusals,
        describe_refusals,
        inviter_refusal,
    )
    from domain.notifications import EmailRequest, EmailResult
    from domain.parties import Decision, Role

from workflows.common import (
    ACTIVITY_TIMEOUT,
    RETRY,
    audit,
    link,
    run_key,
    send_email,
    set_business_status,
    verify_actor,
)
from workflows.guard import DecisionLock, bound, present
from workflows.steps import ONE_STEP, Entry, StateWrite, event, task_closed, task_opened, write_step

S = InvitationStatus

# workflow.patched id: the outcome's activities scheduled together (see _finish).
FINISH_TOGETHER = "invitation-finish-together"


@workflow.defn
class InvitationWorkflow:
    """One invitation: eligibility at creation, a validity timer with a reminder, and the
    customer's decision as an update that is re-checked against fresh data at acceptance."""

    @workflow.init
    def __init__(self, req: InvitationRequest) -> None:
        self._req = req
        self._status = S.CHECKING
        self._reason: str | None = None
        self._refusals: list[Refusal] = []
        self._sent_to: str | None = None
        self._expires_at: datetime | None = None
        self._decided_by: str | None = None
        self._decided_at: datetime | None = None
        self._decision_kind: str | None = None
        self._binding_id: int | None = None
        self._guard = DecisionLock(req.decision_timeout)
        self._email_changes: list[str] = []
        self._ctx: InvitationContext | None = None
        self._created_at: datetime | None = None
        self._resends = 0
        # True once the first invitation email (or offline link) is out: what `sent` waits for.
        self._invited = False

    @workflow.run
    async def run(self, req: InvitationRequest) -> InvitationView:
        """Checks, invites, waits for a decision or expiry, then tells everyone."""
        rk = run_key()
        ctx = await workflow.execute_activity_method(
            InvitationActivities.load_invitation_context,
            LoadContext(partner_id=req.partner_id, customer_id=req.customer_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._ctx = ctx
        refusal = inviter_refusal(req.requested_by, ctx.partner)
        if refusal is None and ctx.customer is None:
            refusal = Refusal(
                rule="customer_not_found", message=f"customer {req.customer_id} does not exist"
            )
        if refusal is not None:
            return await self._end_early(self._refuse([refusal]))
        assert ctx.partner is not None and ctx.customer is not None
        if already_bound_here(req.partner_id, ctx.active_binding):
            self._status = S.ALREADY_BOUND
            self._reason = f"customer {req.customer_id} is already bound to {req.partner_id}"
            set_business_status(self._status.value)
            return await self._end_early(self._view())
        refusals = binding_refusals(ctx.partner, ctx.customer, req.mode, ctx.active_binding)
        if refusals:
            return await self._end_early(self._refuse(refusals))

        self._created_at = workflow.now()
        if req.channel == Channel.EMAIL:
            self._expires_at = workflow.now() + req.validity
        self._status = S.PENDING
        self._sent_to = ctx.customer.email
        await write_step(
            self._row(),
            task_opened(
                f"{rk}:decision",
                "invitation_decision",
                f"Invitation from {ctx.partner.company_name} ({req.mode.value})",
                Role.CUSTOMER,
                req.customer_id,
                self._expires_at,
            ),
            event(
                f"{rk}:invited",
                "invited",
                req.requested_by.user_id,
                f"{req.mode.value} mode by {req.channel.value}"
                + (
                    f", valid until {self._expires_at:%Y-%m-%d %H:%M} UTC"
                    if self._expires_at
                    else ""
                ),
            ),
        )
        await self._send_invitation(0)
        self._invited = True
        set_business_status(self._status.value)

        decided = False
        if self._expires_at is not None:
            remind_at = self._expires_at - req.reminder_before
            if req.reminder_before > timedelta(0) and remind_at > workflow.now():
                decided = await self._wait_for_decision(remind_at)
                if not decided:
                    await self._send_reminder()
            if not decided:
                decided = await self._wait_for_decision(self._expires_at)
        else:
            decided = await self._wait_for_decision(None)

        # A decision may be in flight when the timer fires: let it finish first.
        async with self._guard.turn():
            if self._status not in FINAL_STATUSES:
                self._status = S.EXPIRED
                self._reason = N_("the customer did not answer within the validity period")
        await self._finish(rk)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    # ----- decisions -------------------------------------------------------------------

    @workflow.update
    async def accept(self, d: Decision) -> InvitationView:
        """The customer accepts: eligibility re-checked, binding created atomically."""
        await verify_actor(d.actor, d.operator)
        self._validate_accept(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._decision_kind is not None or self._status != S.PENDING:
                return self._view()  # a repeated decision returns the first result
            outcome = await workflow.execute_activity_method(
                InvitationActivities.create_binding,
                CreateBinding(
                    key=f"{run_key()}:binding",
                    workflow_id=workflow.info().workflow_id,
                    partner_id=self._req.partner_id,
                    customer_id=self._req.customer_id,
                    mode=self._req.mode,
                    decided_by=d.actor.user_id,
                    at=workflow.now(),
                    notify=self._acceptance_emails(),
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            self._decision_kind = "accept"
            self._decided_by = d.actor.user_id
            self._decided_at = workflow.now()
            if outcome.binding_id is not None:
                self._binding_id = outcome.binding_id
                self._status = S.ALREADY_BOUND if outcome.already_bound else S.ACCEPTED
            else:
                self._refusals = outcome.refusals
                self._status = S.REFUSED
                self._reason = describe_refusals(outcome.refusals)
            return self._view()

    @accept.validator
    def _validate_accept(self, d: Decision) -> None:
        self._check_customer_decision(d, "accept")

    @workflow.update
    async def decline(self, d: Decision) -> InvitationView:
        """The customer declines."""
        await verify_actor(d.actor, d.operator)
        self._validate_decline(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._decision_kind is None and self._status == S.PENDING:
                self._decision_kind = "decline"
                self._status = S.DECLINED
                self._decided_by = d.actor.user_id
                self._decided_at = workflow.now()
                self._reason = d.comment
        return self._view()

    @decline.validator
    def _validate_decline(self, d: Decision) -> None:
        self._check_customer_decision(d, "decline")

    @workflow.update
    async def cancel(self, d: Decision) -> InvitationView:
        """The partner (or ops) withdraws a pending invitation."""
        await verify_actor(d.actor, d.operator)
        self._validate_cancel(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._decision_kind is None and self._status == S.PENDING:
                self._decision_kind = "cancel"
                self._status = S.CANCELLED
                self._decided_by = d.actor.user_id
                self._decided_at = workflow.now()
                self._reason = d.comment or "cancelled by the partner"
        return self._view()

    @cancel.validator
    def _validate_cancel(self, d: Decision) -> None:
        if d.actor.role != Role.OPS and not d.actor.is_partner_user_of(self._req.partner_id):
            raise PermissionDeniedError(
                f"{d.actor.describe()} may not cancel an invitation of partner "
                f"{self._req.partner_id}"
            ).to_application_error()
        self._check_state("cancel")

    @workflow.signal
    def customer_email_changed(self, change: EmailChanged) -> None:
        """Ops changed the customer's email: a pending invitation goes to the new address."""
        self._email_changes.append(change.new_email)

    @workflow.update
    async def checked(self) -> InvitationView:
        """The invitation once the first checks are done (invited, refused or already bound):
        what a starter waits for right after starting, instead of polling the status query.
        It answers before the email is out, so that a mail server that is down or slow holds
        no start up: the CLI then says the email is queued."""
        await workflow.wait_condition(lambda: self._status != S.CHECKING)
        return self._view()

    @workflow.update
    async def sent(self) -> InvitationView:
        """The invitation once its email (or offline link) is out, or once it ended without
        one (refused, already bound, decided meanwhile): for a caller that acts on the email,
        as a customer does. Unlike ``checked`` it waits for the mail server."""
        await workflow.wait_condition(
            lambda: self._invited or self._status not in (S.CHECKING, S.PENDING)
        )
        return self._view()

    @workflow.query
    def status(self) -> InvitationView:
        """The invitation as it stands."""
        return self._view()

    # ----- internals ---------------------------------------------------------------------

    def _check_customer_decision(self, d: Decision, kind: str) -> None:
        if not d.actor.is_customer(self._req.customer_id):
            raise PermissionDeniedError(
                f"only customer {self._req.customer_id} may {kind} this invitation, "
                f"not {d.actor.describe()}"
            ).to_application_error()
        self._check_state(kind)

    def _check_state(self, kind: str) -> None:
        if self._decision_kind == kind:
            return  # repeated: the handler returns the first result
        if self._status == S.PENDING and self._decision_kind is None:
            return
        if self._status == S.CHECKING:
            raise InvalidStateError(
                "the invitation is still being checked; try again in a moment"
            ).to_application_error()
        if self._status == S.EXPIRED and self._expires_at is not None:
            raise InvalidStateError(
                f"this invitation expired on {self._expires_at:%Y-%m-%d %H:%M} UTC; "
                "ask the partner to send a new one"
            ).to_application_error()
        raise InvalidStateError(
            f"this invitation is already {self._status.value.lower()}"
        ).to_application_error()

    async def _wait_for_decision(self, until: datetime | None) -> bool:
        """Waits for a final state until ``until``; handles email changes meanwhile."""
        while True:
            timeout = None if until is None else until - workflow.now()
            if timeout is not None and timeout <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    lambda: self._status in FINAL_STATUSES or bool(self._email_changes),
                    timeout=timeout,
                )
            except TimeoutError:
                return False
            if self._status in FINAL_STATUSES:
                return True
            await self._resend_to_new_email()

    async def _resend_to_new_email(self) -> None:
        while self._email_changes:
            new = self._email_changes.pop(0)
            if new == self._sent_to or self._status != S.PENDING:
                continue
            self._sent_to = new
            self._resends += 1
            n = self._resends
            await write_step(
                self._row(), event(f"{run_key()}:resent:{n}", "resent_to_new_email", "ops", new)
            )
            await self._send_invitation(n)

    async def _send_invitation(self, n: int) -> None:
        req, ctx = self._req, self._ctx
        assert ctx is not None and ctx.partner is not None and ctx.customer is not None
        # An offline link never expires (docs/invitation.md); an emailed one expires with the invitation.
        offline, task = req.channel != Channel.EMAIL, f"{run_key()}:decision"
        links = [
            link(
                "accept_url",
                "accept",
                req.customer_id,
                self._expires_at,
                task_key=task,
                offline=offline,
            ),
            link(
                "decline_url",
                "decline",
                req.customer_id,
                self._expires_at,
                task_key=task,
                offline=offline,
            ),
        ]
        context = self._email_context()
        if req.channel == Channel.EMAIL:
            await send_email(
                f"{run_key()}:invite:{n}", self._sent_to or "", "invitation", context, links
            )
        else:
            # Offline: the partner hands the link (or its QR code) to the customer.
            await send_email(
                f"{run_key()}:offline-link:{n}",
                req.requested_by.email or ctx.partner.contact_email,
                "invitation_offline_link",
                context,
                links,
            )

    async def _send_reminder(self) -> None:
        if self._status != S.PENDING:
            return
        task = f"{run_key()}:decision"
        links = [
            link("accept_url", "accept", self._req.customer_id, self._expires_at, task_key=task),
            link("decline_url", "decline", self._req.customer_id, self._expires_at, task_key=task),
        ]
        await send_email(
            f"{run_key()}:reminder",
            self._sent_to or "",
            "invitation_reminder",
            self._email_context(),
            links,
        )
        await audit(f"{run_key()}:reminder", "reminder_sent", "system", self._sent_to or "")

    async def _finish(self, rk: str) -> None:
        """Records the outcome, closes the task and emails the people concerned."""
        ctx = self._ctx
        assert ctx is not None and ctx.partner is not None and ctx.customer is not None
        task_status = {S.EXPIRED: "expired", S.CANCELLED: "cancelled"}.get(self._status, "done")
        context = self._email_context()
        partner_to = ctx.partner.contact_email
        customer_to = self._sent_to or ctx.customer.email
        messages: list[tuple[str, str]] = {
            S.ACCEPTED: [
                (customer_to, "invitation_accepted_customer"),
                (partner_to, "invitation_accepted_partner"),
            ],
            S.ALREADY_BOUND: [(partner_to, "invitation_accepted_partner")],
            S.DECLINED: [(partner_to, "invitation_declined")],
            S.EXPIRED: [(partner_to, "invitation_expired")],
            S.CANCELLED: [(customer_to, "invitation_cancelled")],
            S.REFUSED: [(partner_to, "invitation_refused"), (customer_to, "invitation_refused")],
        }.get(self._status, [])
        records: list[Entry] = [
            self._row(),
            task_closed(
                f"{rk}:decision",
                task_status,
                decision=self._status.value.lower(),
                comment=self._reason,
                decided_by=self._decided_by,
            ),
            event(
                f"{rk}:outcome",
                self._status.value.lower(),
                self._decided_by or "system",
                self._reason or (f"binding {self._binding_id}" if self._binding_id else ""),
            ),
        ]

        def emails() -> list[Coroutine[Any, Any, EmailResult]]:
            return [
                send_email(f"{rk}:{template}:{to}", to, template, context)
                for to, template in messages
            ]

        # The records and the emails depend on nothing but the outcome: scheduled together,
        # the customer hears within one activity round of the decision, and an SMTP outage
        # does not hold the bookkeeping back.
        if workflow.patched(ONE_STEP):  # the row, the task and the event in one activity
            await asyncio.gather(write_step(*records), *emails())
        elif workflow.patched(FINISH_TOGETHER):  # runs started before 2026-12-04
            await asyncio.gather(*(write_step(r) for r in records), *emails())
        else:  # runs started before 2026-12-03 did them one after the other
            for record in records:
                await write_step(record)
            for send in emails():
                await send
        set_business_status(self._status.value)

    def _acceptance_emails(self) -> list[EmailRequest]:
        """The emails _finish sends for ACCEPTED, with the same keys and context: the binding
        activity sends them the moment the binding is committed, so the customer hears in
        the decision's own round; _finish's sends then find them sent."""
        ctx = present(self._ctx, "the invitation context")
        customer, partner = present(ctx.customer, "the customer"), present(ctx.partner, "partner")
        rk, context = run_key(), self._email_context()
        return [
            EmailRequest(
                key=f"{rk}:{template}:{to}",
                to=to,
                template=template,
                context=context,
                workflow_id=workflow.info().workflow_id,
            )
            for to, template in (
                (self._sent_to or customer.email, "invitation_accepted_customer"),
                (partner.contact_email, "invitation_accepted_partner"),
            )
        ]

    async def _end_early(self, view: InvitationView) -> InvitationView:
        # A starter's `checked` update may be waiting on this very status: let it answer
        # before the run completes (no command: stored histories replay unchanged).
        await workflow.wait_condition(workflow.all_handlers_finished)
        return view

    def _refuse(self, refusals: list[Refusal]) -> InvitationView:
        # Refused at creation: nothing is recorded, nobody is emailed.
        self._refusals = refusals
        self._status = S.REFUSED
        self._reason = describe_refusals(refusals)
        set_business_status(self._status.value)
        return self._view()

    def _row(self) -> StateWrite[RecordInvitation]:
        """The invitation row as the workflow stands."""
        req = self._req
        return StateWrite(
            InvitationActivities.record_invitation,
            RecordInvitation(
                run_key=run_key(),
                workflow_id=workflow.info().workflow_id,
                partner_id=req.partner_id,
                customer_id=req.customer_id,
                mode=req.mode,
                channel=req.channel,
                status=self._status,
                sent_to=self._sent_to or "",
                invited_by=req.requested_by.user_id,
                created_at=self._created_at or workflow.now(),
                expires_at=self._expires_at,
                decided_at=self._decided_at,
                decided_by=self._decided_by,
                reason=self._reason,
            ),
        )

    def _email_context(self) -> dict[str, object]:
        ctx = self._ctx
        assert ctx is not None and ctx.partner is not None and ctx.customer is not None
        return {
            "partner_name": ctx.partner.company_name,
            "partner_id": ctx.partner.id,
            "customer_name": ctx.customer.name,
            "customer_id": ctx.customer.id,
            "mode": self._req.mode.value,
            "channel": self._req.channel.value,
            "workflow_id": workflow.info().workflow_id,
            "expires_at": (
                f"{self._expires_at:%Y-%m-%d %H:%M} UTC" if self._expires_at else "no expiry"
            ),
            "reason": self._reason or "",
            "binding_id": self._binding_id,
        }

    def _view(self) -> InvitationView:
        return InvitationView(
            workflow_id=workflow.info().workflow_id,
            partner_id=self._req.partner_id,
            customer_id=self._req.customer_id,
            mode=self._req.mode,
            channel=self._req.channel,
            status=self._status,
            sent_to=self._sent_to,
            expires_at=self._expires_at,
            reason=self._reason,
            refusals=self._refusals,
            decided_by=self._decided_by,
            decided_at=self._decided_at,
            binding_id=self._binding_id,
        )
