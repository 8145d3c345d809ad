"""One big-order renewal task (大单续订任务): from the scan until RENEWED, DECLINED or LOST.

The partner's staff claim the task and give feedback; reminders go out before expiry, an
unclaimed task is escalated to the ecosystem managers, and the billing data (a daily check,
and a signal from the subscription import) completes the task as RENEWED by itself.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from domain.text import N_

with workflow.unsafe.imports_passed_through():
    from activities.renewals import AuthorizationActivities, RenewalActivities
    from domain.authorizations import (
        FINAL_STATUSES as AUTH_FINAL,
    )
    from domain.authorizations import (
        AuthorizationChanged,
        AuthorizationRequest,
        AuthorizationStatus,
        Waiter,
        authorization_workflow_id,
    )
    from domain.errors import (
        IneligibleError,
        InvalidInputError,
        InvalidStateError,
        PermissionDeniedError,
    )
    from domain.parties import Actor, Decision, Role
    from domain.renewal_models import (
        AuthorizationLookup,
        RenewalContextQuery,
        RenewalRecord,
        SubscriptionQuery,
    )
    from domain.renewals import (
        FINAL_STATUSES,
        RenewalContext,
        RenewalFeedback,
        RenewalOutcome,
        RenewalRequest,
        RenewalStatus,
        RenewalView,
        SubscriptionChanged,
        binding_gone_reason,
        days_before,
        escalation_time,
        feedback_input_refusal,
        is_renewed,
        needs_customer_authorization,
        partner_payment_refusal,
        reminder_times,
    )

from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.common import (
    ACTIVITY_TIMEOUT,
    CUSTOMER_ID,
    PARTNER_ID,
    RETRY,
    audit,
    close_task,
    send_email,
    set_business_status,
    verify_actor,
)
from workflows.guard import DecisionLock, bound, present
from workflows.steps import Entry, StateWrite, event, task_closed, task_opened, write_step

S = RenewalStatus
# After feedback the task waits for the billing data in these states.
_AWAITING_BILLING = frozenset({S.WILL_RENEW, S.AWAITING_AUTHORIZATION, S.PARTNER_PAYS})
_OUTCOME_STATUS = {
    RenewalOutcome.WILL_RENEW: S.WILL_RENEW,
    RenewalOutcome.CUSTOMER_DECLINES: S.DECLINED,
    RenewalOutcome.PARTNER_PAYS: S.PARTNER_PAYS,
}


@workflow.defn
class RenewalWorkflow:
    """A renewal task for one order and expiry date (id ``renewal-{order}-{YYYYMMDD}``)."""

    @workflow.init
    def __init__(self, req: RenewalRequest) -> None:
        self._req = req
        self._expires_at = req.subscription.expires_at
        self._status = S.STARTING
        self._ctx: RenewalContext | None = None
        self._created_at: datetime | None = None
        self._escalated = False
        self._claimer: Actor | None = None
        self._claimed_at: datetime | None = None
        self._outcome: RenewalOutcome | None = None
        self._reason: str | None = None
        self._decided_by: str | None = None
        self._decided_at: datetime | None = None
        self._auth_wf: str | None = None
        self._auth_status: AuthorizationStatus | None = None
        self._renewed_until: datetime | None = None
        self._reminders_sent: list[int] = []
        self._note: str | None = None
        self._task_open = False
        self._guard = DecisionLock(req.decision_timeout)
        self._billing_nudges = 0  # subscription_changed signals received
        self._nudges_seen = 0  # ... and acted on
        self._auth_events: list[AuthorizationChanged] = []
        self._feedbacks = 0

    @workflow.run
    async def run(self, req: RenewalRequest) -> RenewalView:
        """Opens the partner's task, then watches timers, decisions and the billing data."""
        wf = workflow.info().workflow_id
        ctx = await self._load_context()
        self._created_at = workflow.now()
        gone = binding_gone_reason(ctx, req.partner_id)
        if is_renewed(self._expires_at, ctx.subscription):
            assert ctx.subscription is not None
            self._status = S.RENEWED
            self._renewed_until = ctx.subscription.expires_at
        elif gone is not None:
            self._status = S.CANCELLED
            self._reason = gone
        if self._status in FINAL_STATUSES:
            # Nothing for the partner to do: recorded, nobody emailed.
            await write_step(
                self._row(),
                event(f"{wf}:outcome", self._status.value.lower(), "system", self._reason or ""),
            )
            set_business_status(self._status.value)
            return self._view()

        assert ctx.partner is not None
        self._status = S.OPEN
        # The row, the partner's task and its event: one step.
        await write_step(
            self._row(),
            task_opened(
                f"{wf}:handle",
                "renewal_task",
                f"Renew order {req.subscription.order_id} of {self._customer_name()} "
                f"({req.subscription.amount} CNY, expires {self._expires_at:%Y-%m-%d})",
                Role.PARTNER_STAFF,
                req.partner_id,
                self._expires_at,
            ),
            event(
                f"{wf}:created",
                "renewal_task_created",
                "system",
                f"{req.subscription.billing.value} order, {req.subscription.amount} CNY, "
                f"expires {self._expires_at:%Y-%m-%d %H:%M} UTC",
            ),
        )
        self._task_open = True
        await send_email(
            f"{wf}:task", ctx.partner.contact_email, "renewal_task", self._email_context()
        )
        set_business_status(self._status.value)

        await self._watch()
        await self._guard.free()
        await self._finish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    # ----- the waiting loop ----------------------------------------------------------------

    async def _watch(self) -> None:
        """Until a final status: reminders, escalation, billing checks, expiry."""
        t = self._req.timings
        assert self._created_at is not None
        reminders = reminder_times(self._expires_at, self._created_at, t.reminders_before)
        escalate_at = escalation_time(
            self._expires_at, self._created_at, t.escalate_unclaimed_before
        )
        next_check = self._created_at + t.billing_check_interval
        while self._status not in FINAL_STATUSES:
            due = [next_check, self._expires_at] + [at for _, at in reminders[:1]]
            if escalate_at is not None:
                due.append(escalate_at)
            timeout = min(due) - workflow.now()
            if timeout > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: (
                            self._status in FINAL_STATUSES
                            or self._billing_nudges > self._nudges_seen
                            or bool(self._auth_events)
                        ),
                        timeout=timeout,
                    )
            await self._guard.free()
            if self._status in FINAL_STATUSES:
                return
            now = workflow.now()
            if self._auth_events:
                await self._on_authorization_changes()
            if self._billing_nudges > self._nudges_seen or now >= next_check:
                self._nudges_seen = self._billing_nudges
                while next_check <= now:
                    next_check += t.billing_check_interval
                if await self._billing_shows_renewal():
                    return
            if now >= self._expires_at:
                # The last look at the billing data before calling it lost.
                if await self._billing_shows_renewal():
                    return
                self._status = S.LOST
                self._reason = N_("the order expired without a renewal in the billing data")
                return
            while reminders and reminders[0][1] <= now:
                before, _ = reminders.pop(0)
                await self._remind(before)
            if escalate_at is not None and now >= escalate_at:
                escalate_at = None
                if self._status == S.OPEN:
                    await self._escalate()

    async def _billing_shows_renewal(self) -> bool:
        state = await workflow.execute_activity_method(
            RenewalActivities.check_renewal_subscription,
            SubscriptionQuery(order_id=self._req.subscription.order_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        if self._status in FINAL_STATUSES or not is_renewed(self._expires_at, state.current):
            return False
        assert state.current is not None
        self._status = S.RENEWED
        self._renewed_until = state.current.expires_at
        self._reason = f"renewed until {self._renewed_until:%Y-%m-%d}"
        return True

    async def _remind(self, before: timedelta) -> None:
        if self._status in FINAL_STATUSES:
            return
        days = days_before(before)
        wf = workflow.info().workflow_id
        context = {**self._email_context(), "days_left": days}
        for to in self._partner_recipients():
            await send_email(f"{wf}:reminder:{days}d:{to}", to, "renewal_reminder", context)
        self._reminders_sent.append(days)
        await audit(f"{wf}:reminder:{days}d", "reminder_sent", "system", f"{days} days before")

    async def _escalate(self) -> None:
        """Unclaimed close to expiry: a task and an email for the ecosystem managers."""
        wf = workflow.info().workflow_id
        ctx = await self._load_context()
        self._escalated = True
        await write_step(
            task_opened(
                f"{wf}:escalation",
                "renewal_escalation",
                f"Unclaimed big-order renewal: order {self._req.subscription.order_id} of "
                f"{self._customer_name()} at partner {self._req.partner_id}",
                Role.ECOSYSTEM_MANAGER,
                None,
                self._expires_at,
            ),
            self._row(),
            event(
                f"{wf}:escalated",
                "escalated",
                "system",
                f"unclaimed {days_before(self._expires_at - workflow.now())} days before expiry",
            ),
        )
        for m in ctx.managers:
            await send_email(
                f"{wf}:escalated:{m.user_id}",
                m.email,
                "renewal_escalated",
                {**self._email_context(), "manager_name": m.name},
            )
        set_business_status(self._status.value)

    async def _on_authorization_changes(self) -> None:
        """The customer's authorization moved: proceed, or hand the task back to the partner."""
        wf = workflow.info().workflow_id
        while self._auth_events:
            ev = self._auth_events.pop(0)
            if ev.workflow_id != self._auth_wf or ev.status == self._auth_status:
                continue
            self._auth_status = ev.status
            # An approval's event goes with the row (one step); a failure's event is written
            # before the partner is emailed, the row after.
            events: list[Entry] = []
            if (
                self._status == S.AWAITING_AUTHORIZATION
                and ev.status == AuthorizationStatus.APPROVED
            ):
                self._status = S.PARTNER_PAYS
                self._note = (
                    f"the customer authorized the partner until {ev.valid_until:%Y-%m-%d}"
                    if ev.valid_until
                    else "the customer authorized the partner"
                )
                events.append(
                    event(
                        f"{wf}:authorized:{ev.workflow_id}",
                        "customer_authorized",
                        "system",
                        self._note,
                    )
                )
            elif (self._status == S.AWAITING_AUTHORIZATION and ev.status in AUTH_FINAL) or (
                self._status == S.PARTNER_PAYS
                and ev.status in (AuthorizationStatus.REVOKED, AuthorizationStatus.EXPIRED)
            ):
                self._status = S.CLAIMED
                self._note = (
                    f"customer authorization {ev.status.value.lower()}"
                    + (f": {ev.reason}" if ev.reason else "")
                    + "; the partner cannot pay for it now, record another outcome"
                )
                await audit(
                    f"{wf}:authorization:{ev.status.value.lower()}:{self._feedbacks}",
                    "authorization_" + ev.status.value.lower(),
                    "system",
                    ev.reason or "",
                )
                context = {**self._email_context(), "authorization_status": ev.status.value}
                for to in self._partner_recipients():
                    await send_email(
                        f"{wf}:authorization-failed:{self._feedbacks}:{ev.status.value}:{to}",
                        to,
                        "renewal_authorization_failed",
                        context,
                    )
            await write_step(*events, self._row())
            set_business_status(self._status.value)

    async def _finish(self) -> None:
        """Records the outcome, closes the tasks and emails the people docs/renewals.md names."""
        wf = workflow.info().workflow_id
        task_status = {S.LOST: "expired", S.CANCELLED: "cancelled"}.get(self._status, "done")
        decided_by = self._decided_by or (self._claimer.user_id if self._claimer else None)
        # The row, the open tasks closed and the outcome's event: one step.
        step: list[Entry] = [self._row()]
        for key, still_open in (("handle", self._task_open), ("escalation", self._escalated)):
            if still_open:
                step.append(
                    task_closed(
                        f"{wf}:{key}",
                        task_status,
                        decision=self._status.value.lower(),
                        comment=self._reason,
                        decided_by=decided_by,
                    )
                )
        step.append(
            event(
                f"{wf}:outcome",
                self._status.value.lower(),
                self._decided_by
                if self._status in (S.DECLINED, S.CANCELLED) and self._decided_by
                else "system",
                self._reason or "",
            )
        )
        await write_step(*step)
        context = self._email_context()
        if self._status == S.LOST:
            ctx = await self._load_context()
            recipients: list[tuple[str, str]] = [(to, to) for to in self._partner_recipients()] + [
                (m.user_id, m.email) for m in ctx.managers
            ]
            for who, to in recipients:
                await send_email(f"{wf}:lost:{who}", to, "renewal_lost", context)
        elif self._status == S.RENEWED:
            for to in self._partner_recipients():
                await send_email(f"{wf}:renewed:{to}", to, "renewal_renewed", context)
        elif self._status == S.CANCELLED:
            for to in self._partner_recipients():
                await send_email(f"{wf}:cancelled:{to}", to, "renewal_cancelled", context)
        set_business_status(self._status.value)

    # ----- decisions -----------------------------------------------------------------------

    @workflow.update
    async def claim(self, d: Decision) -> RenewalView:
        """A partner user takes the task (staff may claim it; the admin may too)."""
        await verify_actor(d.actor, d.operator)
        self._validate_claim(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._claimer is not None or self._status in FINAL_STATUSES:
                return self._view()  # a repeated claim returns the first result
            await self._take(d.actor)
            set_business_status(self._status.value)
            return self._view()

    @claim.validator
    def _validate_claim(self, d: Decision) -> None:
        self._check_partner_user(d.actor, "claim")
        self._check_open("claim")
        if self._claimer is not None and self._claimer.user_id != d.actor.user_id:
            raise InvalidStateError(
                f"this renewal task is already claimed by {self._claimer.user_id}; "
                "ask your partner_admin to act on it if needed"
            ).to_application_error()

    @workflow.update
    async def feedback(self, fb: RenewalFeedback) -> RenewalView:
        """The partner's feedback: will renew, customer declines (reason), or partner pays."""
        await verify_actor(fb.actor)
        self._validate_feedback(fb)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status in FINAL_STATUSES or self._is_repeat(fb):
                return self._view()
            await self._apply_feedback(fb)
            set_business_status(self._status.value)
            return self._view()

    @feedback.validator
    def _validate_feedback(self, fb: RenewalFeedback) -> None:
        self._check_partner_user(fb.actor, "give feedback on")
        if self._status in FINAL_STATUSES and self._outcome == fb.outcome:
            return  # repeated: returns the first result
        self._check_open("give feedback on")
        if (
            fb.actor.role == Role.PARTNER_STAFF
            and self._claimer is not None
            and self._claimer.user_id != fb.actor.user_id
        ):
            raise PermissionDeniedError(
                f"this renewal task is claimed by {self._claimer.user_id}: only that user or a "
                "partner_admin may give feedback"
            ).to_application_error()
        problem = feedback_input_refusal(fb)
        if problem is not None:
            raise InvalidInputError(problem).to_application_error()
        if fb.outcome == RenewalOutcome.PARTNER_PAYS:
            partner = present(present(self._ctx, "the renewal context").partner, "the partner")
            refusal = partner_payment_refusal(
                partner.type,
                self._req.mode,
                self._req.partner_id,
                self._req.subscription.customer_id,
            )
            if refusal is not None:
                raise IneligibleError(refusal, rule="partner_payment").to_application_error()

    @workflow.update
    async def cancel(self, d: Decision) -> RenewalView:
        """Ops withdraws the task (e.g. the order was migrated); the reason is recorded."""
        await verify_actor(d.actor, d.operator)
        self._validate_cancel(d)  # again: the state may have moved while we looked the actor up
        if self._status not in FINAL_STATUSES:
            self._status = S.CANCELLED
            self._decided_by = d.actor.user_id
            self._decided_at = workflow.now()
            self._reason = d.comment or f"withdrawn by {d.actor.user_id}"
        return self._view()

    @cancel.validator
    def _validate_cancel(self, d: Decision) -> None:
        if d.actor.role != Role.OPS:
            raise PermissionDeniedError(
                f"only ops may withdraw a renewal task, not {d.actor.describe()}"
            ).to_application_error()
        if self._status == S.CANCELLED:
            return
        self._check_open("cancel")

    @workflow.signal
    def subscription_changed(self, change: SubscriptionChanged) -> None:
        """The billing import changed the order: look at the billing data now."""
        if change.order_id == self._req.subscription.order_id:
            self._billing_nudges += 1

    @workflow.signal(name="authorization_changed")
    def authorization_changed(self, change: AuthorizationChanged) -> None:
        """The customer authorization this task waits for changed."""
        self._auth_events.append(change)

    @workflow.update
    async def checked(self) -> RenewalView:
        """The task once it is set up (past STARTING: OPEN, or already renewed / cancelled):
        what a starter waits for right after starting (update-with-start), instead of polling
        ``status``. Read-only."""
        await workflow.wait_condition(lambda: self._status != S.STARTING)
        return self._view()

    @workflow.query
    def status(self) -> RenewalView:
        """The renewal task as it stands."""
        return self._view()

    # ----- internals -----------------------------------------------------------------------

    async def _take(self, actor: Actor) -> None:
        """Claims the task for ``actor`` (also done implicitly by a first feedback)."""
        wf = workflow.info().workflow_id
        self._claimer = actor
        self._claimed_at = workflow.now()
        if self._status == S.OPEN:
            self._status = S.CLAIMED
        await write_step(
            self._row(), event(f"{wf}:claimed", "claimed", actor.user_id, actor.describe())
        )
        # Looked at once the claim is written, not with it: run() may be escalating right
        # now (it does not hold the decision lock), and an escalation that began meanwhile
        # is closed here too.
        if self._escalated:
            await close_task(
                f"{wf}:escalation",
                "done",
                decision="claimed",
                decided_by=actor.user_id,
                comment=f"claimed by {actor.user_id}",
            )

    async def _apply_feedback(self, fb: RenewalFeedback) -> None:
        wf = workflow.info().workflow_id
        needs_auth = fb.outcome == RenewalOutcome.PARTNER_PAYS and needs_customer_authorization(
            self._req.mode
        )
        if needs_auth:
            found = await workflow.execute_activity_method(
                AuthorizationActivities.find_authorization,
                AuthorizationLookup(
                    partner_id=self._req.partner_id,
                    customer_id=self._req.subscription.customer_id,
                    at=workflow.now(),
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            if not (
                found.reusable
                or found.pending
                or found.letter_accepted
                or fb.accept_commitment_letter
            ):
                # Refused before anything changed: the update fails, the task stays as it was.
                raise IneligibleError(
                    f"partner {self._req.partner_id} has not accepted the commitment letter for "
                    "operating on customers' behalf; give this feedback again accepting it "
                    "(--accept-commitment-letter)",
                    rule="commitment_letter_required",
                ).to_application_error()
        if self._claimer is None:
            await self._take(fb.actor)
        self._feedbacks += 1
        self._outcome = fb.outcome
        self._reason = fb.reason
        self._decided_by = fb.actor.user_id
        self._decided_at = workflow.now()
        self._note = None
        self._status = _OUTCOME_STATUS[fb.outcome]
        if needs_auth:
            reuse = found.reusable
            # Reused, but still subscribed: a revocation or the expiry must reach this task.
            if reuse is not None and await self._join(reuse.workflow_id, Waiter(workflow_id=wf)):
                self._auth_status = AuthorizationStatus.APPROVED
                self._note = "reusing the customer's authorization valid until " + (
                    f"{reuse.valid_until:%Y-%m-%d}" if reuse.valid_until else "?"
                )
            else:
                self._status = S.AWAITING_AUTHORIZATION
                await self._ask_for_authorization(
                    fb, found.pending.workflow_id if found.pending else None
                )
        await write_step(
            self._row(),
            event(
                f"{wf}:feedback:{self._feedbacks}",
                "feedback",
                fb.actor.user_id,
                fb.outcome.value
                + (f": {fb.reason}" if fb.reason else "")
                + (f" ({self._note})" if self._note else ""),
            ),
        )

    async def _ask_for_authorization(self, fb: RenewalFeedback, pending: str | None) -> None:
        """Joins a pending request, or starts one as a child that outlives this task."""
        wf = workflow.info().workflow_id
        me = Waiter(workflow_id=wf)
        self._auth_status = None
        if pending is not None and await self._join(pending, me):
            return
        sub = self._req.subscription
        target = authorization_workflow_id(self._req.partner_id, sub.customer_id)
        try:
            await workflow.start_child_workflow(
                CustomerAuthorizationWorkflow.run,
                AuthorizationRequest(
                    partner_id=self._req.partner_id,
                    customer_id=sub.customer_id,
                    requested_by=fb.actor,
                    accept_commitment_letter=fb.accept_commitment_letter,
                    purpose=f"renewal of order {sub.order_id} ({sub.product}, {sub.amount} CNY, "
                    f"expires {self._expires_at:%Y-%m-%d})",
                    validity=self._req.timings.authorization_validity,
                    request_window=self._req.timings.authorization_request_window,
                    notify=[wf],
                ),
                id=target,
                # The authorization stands on its own: it stays valid (and reusable) after
                # this task ends.
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=self._child_search_attributes(),
            )
            self._auth_wf = target
        except WorkflowAlreadyStartedError:
            if not await self._join(target, me):
                raise InvalidStateError(
                    f"an authorization request {target} is in flux; try again in a moment"
                ).to_application_error() from None

    async def _join(self, target: str, me: Waiter) -> bool:
        """Asks a running authorization workflow to tell this task about its changes."""
        try:
            await workflow.get_external_workflow_handle(target).signal(
                CustomerAuthorizationWorkflow.add_waiter, me
            )
        except FailureError:
            return False  # it has just finished
        self._auth_wf = target
        return True

    def _is_repeat(self, fb: RenewalFeedback) -> bool:
        """The same outcome again while it still stands changes nothing."""
        if self._outcome != fb.outcome or fb.reason != self._reason:
            return False
        return self._status == _OUTCOME_STATUS[fb.outcome] or (
            fb.outcome == RenewalOutcome.PARTNER_PAYS and self._status in _AWAITING_BILLING
        )

    def _check_partner_user(self, actor: Actor, what: str) -> None:
        if not actor.is_partner_user_of(self._req.partner_id):
            raise PermissionDeniedError(
                f"only partner_staff or partner_admin users of partner {self._req.partner_id} may "
                f"{what} this renewal task, not {actor.describe()}"
            ).to_application_error()

    def _check_open(self, what: str) -> None:
        if self._status == S.STARTING:
            raise InvalidStateError(
                "the renewal task is still being set up; try again in a moment"
            ).to_application_error()
        if self._status in FINAL_STATUSES:
            raise InvalidStateError(
                f"cannot {what} this renewal task: it is already {self._status.value.lower()}"
                + (f" ({self._reason})" if self._reason else "")
            ).to_application_error()

    async def _load_context(self) -> RenewalContext:
        sub = self._req.subscription
        ctx = await workflow.execute_activity_method(
            RenewalActivities.load_renewal_context,
            RenewalContextQuery(
                order_id=sub.order_id, partner_id=self._req.partner_id, customer_id=sub.customer_id
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        if self._ctx is None or (ctx.partner is not None and ctx.customer is not None):
            self._ctx = ctx
        return ctx

    def _row(self) -> StateWrite[RenewalRecord]:
        """The task's row as it stands now, for :func:`write_step` (with the step's tasks
        and events, or alone)."""
        return StateWrite(
            RenewalActivities.record_renewal, RenewalRecord(view=self._view(), at=workflow.now())
        )

    def _child_search_attributes(self) -> TypedSearchAttributes | None:
        if workflow.info().typed_search_attributes.get(PARTNER_ID) is None:
            return None  # this task is not indexed (the test server has no custom attributes)
        return TypedSearchAttributes(
            [
                SearchAttributePair(PARTNER_ID, self._req.partner_id),
                SearchAttributePair(CUSTOMER_ID, self._req.subscription.customer_id),
            ]
        )

    def _partner_recipients(self) -> list[str]:
        """The partner's contact address, and the claimer's if it differs."""
        ctx = self._ctx
        out = [ctx.partner.contact_email] if ctx and ctx.partner else []
        if self._claimer is not None and self._claimer.email and self._claimer.email not in out:
            out.append(self._claimer.email)
        return out

    def _customer_name(self) -> str:
        ctx = self._ctx
        return ctx.customer.name if ctx and ctx.customer else self._req.subscription.customer_id

    def _email_context(self) -> dict[str, object]:
        sub, ctx = self._req.subscription, self._ctx
        left = self._expires_at - workflow.now()
        return {
            "workflow_id": workflow.info().workflow_id,
            "partner_name": ctx.partner.company_name if ctx and ctx.partner else sub.customer_id,
            "partner_id": self._req.partner_id,
            "customer_name": self._customer_name(),
            "customer_id": sub.customer_id,
            "order_id": sub.order_id,
            "product": sub.product,
            "amount": f"{sub.amount:,.2f}",
            "billing": sub.billing.value,
            "mode": self._req.mode.value,
            "expires_at": f"{self._expires_at:%Y-%m-%d %H:%M} UTC",
            "days_left": max(0, left.days),
            "status": self._status.value,
            "claimed_by": self._claimer.user_id if self._claimer else "",
            "outcome": self._outcome.value if self._outcome else "",
            "reason": self._reason or "",
            "note": self._note or "",
            "renewed_until": (f"{self._renewed_until:%Y-%m-%d}" if self._renewed_until else ""),
        }

    def _view(self) -> RenewalView:
        sub = self._req.subscription
        return RenewalView(
            workflow_id=workflow.info().workflow_id,
            order_id=sub.order_id,
            customer_id=sub.customer_id,
            partner_id=self._req.partner_id,
            product=sub.product,
            amount=sub.amount,
            billing=sub.billing,
            mode=self._req.mode,
            expires_at=self._expires_at,
            status=self._status,
            escalated=self._escalated,
            claimed_by=self._claimer.user_id if self._claimer else None,
            claimed_at=self._claimed_at,
            outcome=self._outcome,
            reason=self._reason,
            decided_by=self._decided_by,
            decided_at=self._decided_at,
            authorization_workflow_id=self._auth_wf,
            authorization_status=self._auth_status.value if self._auth_status else None,
            renewed_until=self._renewed_until,
            reminders_sent=list(self._reminders_sent),
            note=self._note,
        )
