"""A partner asks a resale customer for authorization to order on its behalf (代客下单授权).

Standalone (``partnerflow authorization request``) or a child of a renewal whose partner
pays. A cloud reseller's distributor decides first, then the customer; an approval is valid
for ``validity`` and may be revoked by the customer with a reason until then.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

from domain.text import N_

with workflow.unsafe.imports_passed_through():
    from activities.renewals import AuthorizationActivities
    from domain.authorizations import (
        CHANGED_SIGNAL,
        COMMITMENT_LETTER_TEXT,
        COMMITMENT_LETTER_VERSION,
        PENDING_STATUSES,
        AuthorizationChanged,
        AuthorizationContext,
        AuthorizationRequest,
        AuthorizationStatus,
        AuthorizationView,
        Refusal,
        Waiter,
        authorization_refusals,
        decider_refusal,
        needs_distributor_authorization,
        requester_refusal,
    )
    from domain.errors import InvalidInputError, InvalidStateError, PermissionDeniedError
    from domain.parties import Decision, Role
    from domain.renewal_models import (
        AuthorizationContextQuery,
        AuthorizationRecord,
        LetterAcceptance,
    )

from workflows.common import (
    ACTIVITY_TIMEOUT,
    RETRY,
    audit,
    close_task,
    link,
    open_task,
    run_key,
    send_email,
    set_business_status,
    verify_actor,
)
from workflows.guard import DecisionLock, bound
from workflows.steps import Entry, StateWrite, event, task_closed, task_opened, write_step

S = AuthorizationStatus


@workflow.defn
class CustomerAuthorizationWorkflow:
    """One authorization request: rules first, the distributor's step for a reseller, the
    customer's decision, then the validity period during which the customer may revoke."""

    @workflow.init
    def __init__(self, req: AuthorizationRequest) -> None:
        self._req = req
        self._status = S.CHECKING
        self._ctx: AuthorizationContext | None = None
        self._refusals: list[Refusal] = []
        self._reason: str | None = None
        self._requested_at: datetime | None = None
        self._deadline: datetime | None = None
        self._distributor_approved_by: str | None = None
        self._decided_by: str | None = None
        self._decided_at: datetime | None = None
        self._valid_until: datetime | None = None
        self._revoked_by: str | None = None
        self._revoked_at: datetime | None = None
        self._letter_version: str | None = None
        self._waiters: list[str] = list(req.notify)
        # Decisions here only change state; run() acts on it (records, notifies, keeps the grant).
        self._guard = DecisionLock(req.decision_timeout)

    @workflow.run
    async def run(self, req: AuthorizationRequest) -> AuthorizationView:
        """Checks, asks the distributor (reseller) and the customer, then keeps the grant."""
        ctx = await workflow.execute_activity_method(
            AuthorizationActivities.load_authorization_context,
            AuthorizationContextQuery(partner_id=req.partner_id, customer_id=req.customer_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._ctx = ctx
        refusal = requester_refusal(req.requested_by, ctx.partner)
        refusals = (
            [refusal] if refusal else authorization_refusals(ctx, req.accept_commitment_letter)
        )
        if refusals:
            # Refused before anyone was asked: nothing recorded, the waiters are told.
            self._refusals = refusals
            self._status = S.REFUSED
            self._reason = "; ".join(r.message for r in refusals)
            set_business_status(self._status.value)
            await self._notify()
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self._view()
        assert ctx.partner is not None and ctx.customer is not None

        self._requested_at = workflow.now()
        self._deadline = self._requested_at + req.request_window
        if not ctx.letter_accepted:
            await self._accept_letter()
        self._status = (
            S.AWAITING_DISTRIBUTOR
            if needs_distributor_authorization(ctx.partner)
            else S.AWAITING_CUSTOMER
        )
        await write_step(
            self._row(),
            event(
                f"{run_key()}:requested",
                "authorization_requested",
                req.requested_by.user_id,
                req.purpose or f"partner {req.partner_id} asks customer {req.customer_id}",
            ),
        )

        # Each phase writes its own records: a decision may change the status while a
        # phase's last record is written, and the next phase is chosen after that.
        if self._status == S.AWAITING_DISTRIBUTOR:
            await self._ask_distributor()
        if self._status == S.AWAITING_CUSTOMER:
            await self._ask_customer()
        if self._status == S.APPROVED:
            await self._keep_grant()
        await self._finish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    # ----- steps ---------------------------------------------------------------------------

    async def _accept_letter(self) -> None:
        """The partner's first request: it accepts the commitment letter (the vendor's rule)."""
        req, ctx = self._req, self._ctx
        assert ctx is not None and ctx.partner is not None
        ref = await workflow.execute_activity_method(
            AuthorizationActivities.accept_commitment_letter,
            LetterAcceptance(
                partner_id=req.partner_id,
                version=COMMITMENT_LETTER_VERSION,
                text=COMMITMENT_LETTER_TEXT,
                accepted_by=req.requested_by.user_id,
                accepted_at=workflow.now(),
                workflow_id=workflow.info().workflow_id,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._letter_version = COMMITMENT_LETTER_VERSION
        await audit(
            f"{run_key()}:commitment-letter",
            "commitment_letter_accepted",
            ref.accepted_by,
            f"version {COMMITMENT_LETTER_VERSION}",
        )
        await send_email(
            f"commitment-letter:{req.partner_id}:{COMMITMENT_LETTER_VERSION}",
            ctx.partner.contact_email,
            "authorization_commitment_letter",
            {
                **self._email_context(),
                "letter_text": COMMITMENT_LETTER_TEXT,
                "letter_version": COMMITMENT_LETTER_VERSION,
                "accepted_by": ref.accepted_by,
            },
        )

    async def _ask_distributor(self) -> None:
        ctx = self._ctx
        assert ctx is not None and ctx.partner is not None and ctx.partner.distributor_id
        rk = run_key()
        await open_task(
            f"{rk}:distributor",
            "authorization_distributor",
            f"Authorize reseller {ctx.partner.company_name} to order for customer "
            f"{self._req.customer_id}",
            Role.PARTNER_ADMIN,
            ctx.partner.distributor_id,
            self._deadline,
        )
        for admin in ctx.distributor_admins:
            await send_email(
                f"{rk}:distributor-request:{admin.user_id}",
                admin.email,
                "authorization_distributor_request",
                {**self._email_context(), "admin_name": admin.name},
                [
                    link(
                        "approve_url",
                        "approve",
                        admin.user_id,
                        self._deadline,
                        task_key=f"{rk}:distributor",
                    ),
                    link(
                        "cancel_url",
                        "cancel",
                        admin.user_id,
                        self._deadline,
                        task_key=f"{rk}:distributor",
                    ),
                ],
            )
        await self._notify()
        set_business_status(self._status.value)
        await self._wait_while(S.AWAITING_DISTRIBUTOR, self._deadline)
        if self._status == S.AWAITING_DISTRIBUTOR:
            self._status = S.LAPSED
            self._reason = N_("the distributor did not answer within the request window")
        # The task closed and the approval's event: one step. Once the distributor's wait is
        # over no decision can set the approver any more.
        step: list[Entry] = [
            task_closed(
                f"{rk}:distributor",
                {S.LAPSED: "expired", S.CANCELLED: "cancelled"}.get(self._status, "done"),
                decision="approve" if self._distributor_approved_by else self._status.value.lower(),
                comment=self._reason,
                decided_by=self._distributor_approved_by or self._decided_by,
            )
        ]
        if self._distributor_approved_by:
            step.append(
                event(
                    f"{rk}:distributor-approved",
                    "distributor_approved",
                    self._distributor_approved_by,
                    f"distributor {ctx.partner.distributor_id}",
                )
            )
        await write_step(*step)

    async def _ask_customer(self) -> None:
        ctx = self._ctx
        assert ctx is not None and ctx.customer is not None
        rk = run_key()
        await write_step(
            self._row(),
            task_opened(
                f"{rk}:customer",
                "authorization_customer",
                f"Authorize {self._partner_name()} to order on your behalf",
                Role.CUSTOMER,
                self._req.customer_id,
                self._deadline,
            ),
        )
        await send_email(
            f"{rk}:customer-request",
            ctx.customer.email,
            "authorization_request",
            self._email_context(),
            [
                link(
                    "approve_url",
                    "approve",
                    self._req.customer_id,
                    self._deadline,
                    task_key=f"{rk}:customer",
                ),
                link(
                    "cancel_url",
                    "cancel",
                    self._req.customer_id,
                    self._deadline,
                    task_key=f"{rk}:customer",
                ),
            ],
        )
        await self._notify()
        set_business_status(self._status.value)
        await self._wait_while(S.AWAITING_CUSTOMER, self._deadline)
        if self._status == S.AWAITING_CUSTOMER:
            self._status = S.LAPSED
            self._reason = N_("the customer did not answer within the request window")
        await close_task(
            f"{rk}:customer",
            {S.LAPSED: "expired", S.CANCELLED: "cancelled"}.get(self._status, "done"),
            decision="approve" if self._status == S.APPROVED else self._status.value.lower(),
            comment=self._reason,
            decided_by=self._decided_by,
        )

    async def _keep_grant(self) -> None:
        """Approved: valid until ``valid_until`` unless the customer revokes it first."""
        ctx = self._ctx
        assert ctx is not None and ctx.customer is not None and ctx.partner is not None
        rk = run_key()
        await write_step(
            self._row(),
            event(
                f"{rk}:approved",
                "authorization_approved",
                self._decided_by or "",
                f"valid until {self._valid_until:%Y-%m-%d %H:%M} UTC",
            ),
        )
        context = self._email_context()
        await send_email(
            f"{rk}:approved:partner", ctx.partner.contact_email, "authorization_approved", context
        )
        await send_email(
            f"{rk}:approved:customer",
            ctx.customer.email,
            "authorization_approved_customer",
            context,
            [link("revoke_url", "revoke", self._req.customer_id, self._valid_until)],
        )
        await self._notify()
        set_business_status(self._status.value)
        await self._wait_while(S.APPROVED, self._valid_until)
        if self._status == S.APPROVED:
            self._status = S.EXPIRED
            self._reason = N_("the validity period ended")

    async def _finish(self) -> None:
        ctx = self._ctx
        assert ctx is not None and ctx.partner is not None and ctx.customer is not None
        rk = run_key()
        # The status is final here: no decision changes the actor while the row is written.
        actor = (
            self._revoked_by
            or (self._decided_by if self._status == S.CANCELLED else None)
            or "system"
        )
        await write_step(
            self._row(),
            event(
                f"{rk}:outcome",
                f"authorization_{self._status.value.lower()}",
                actor,
                self._reason or "",
            ),
        )
        template = {
            S.CANCELLED: "authorization_cancelled",
            S.LAPSED: "authorization_lapsed",
            S.EXPIRED: "authorization_expired",
            S.REVOKED: "authorization_revoked",
        }.get(self._status)
        if template is not None:
            await send_email(
                f"{rk}:{template}", ctx.partner.contact_email, template, self._email_context()
            )
        await self._notify()
        set_business_status(self._status.value)

    async def _wait_while(self, status: AuthorizationStatus, until: datetime | None) -> None:
        timeout = None if until is None else until - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._status != status, timeout=timeout)

    # ----- decisions -----------------------------------------------------------------------

    @workflow.update
    async def approve(self, d: Decision) -> AuthorizationView:
        """The distributor (reseller's request) or then the customer approves."""
        await verify_actor(d.actor, d.operator)
        self._validate_approve(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status == S.AWAITING_DISTRIBUTOR:
                self._distributor_approved_by = d.actor.user_id
                self._status = S.AWAITING_CUSTOMER
            elif self._status == S.AWAITING_CUSTOMER and d.actor.is_customer(self._req.customer_id):
                now = workflow.now()
                self._status = S.APPROVED
                self._decided_by = d.actor.user_id
                self._decided_at = now
                self._valid_until = now + self._req.validity
        return self._view()

    @approve.validator
    def _validate_approve(self, d: Decision) -> None:
        if self._is_repeat(d, "approve"):
            return
        self._check_pending("approve")
        refusal = decider_refusal(d.actor, self._status, self._req.customer_id, self._distributor())
        if refusal is not None:
            raise PermissionDeniedError(refusal).to_application_error()

    @workflow.update
    async def cancel(self, d: Decision) -> AuthorizationView:
        """The customer (or the distributor) says no, or the partner withdraws its request."""
        await verify_actor(d.actor, d.operator)
        self._validate_cancel(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status in PENDING_STATUSES:
                if d.actor.is_customer(self._req.customer_id):
                    who = "the customer"
                elif d.actor.partner_id == self._distributor():
                    who = f"distributor {self._distributor()}"
                else:
                    who = d.actor.describe()
                self._status = S.CANCELLED
                self._decided_by = d.actor.user_id
                self._decided_at = workflow.now()
                self._reason = d.comment or f"cancelled by {who}"
        return self._view()

    @cancel.validator
    def _validate_cancel(self, d: Decision) -> None:
        if self._is_repeat(d, "cancel"):
            return
        if self._status == S.APPROVED:
            raise InvalidStateError(
                "this authorization is already approved; the customer may revoke it instead"
            ).to_application_error()
        self._check_pending("cancel")
        if d.actor.role == Role.OPS or d.actor.is_partner_user_of(self._req.partner_id):
            return
        refusal = decider_refusal(d.actor, self._status, self._req.customer_id, self._distributor())
        if refusal is not None:
            raise PermissionDeniedError(refusal).to_application_error()

    @workflow.update
    async def revoke(self, d: Decision) -> AuthorizationView:
        """The customer revokes an approved authorization, with a reason (the vendor's rule)."""
        await verify_actor(d.actor, d.operator)
        self._validate_revoke(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status == S.APPROVED:
                self._status = S.REVOKED
                self._revoked_by = d.actor.user_id
                self._revoked_at = workflow.now()
                self._reason = (d.comment or "").strip()
        return self._view()

    @revoke.validator
    def _validate_revoke(self, d: Decision) -> None:
        if not d.actor.is_customer(self._req.customer_id):
            raise PermissionDeniedError(
                f"only customer {self._req.customer_id} may revoke its authorization, "
                f"not {d.actor.describe()}"
            ).to_application_error()
        if self._status == S.REVOKED:
            return  # repeated: returns the first result
        if self._status != S.APPROVED:
            raise InvalidStateError(
                f"this authorization is {self._status.value.lower()}, not approved: "
                "there is nothing to revoke"
            ).to_application_error()
        if not (d.comment or "").strip():
            raise InvalidInputError(
                "a revocation needs a reason (the comment): why is the authorization withdrawn?"
            ).to_application_error()

    @workflow.signal
    async def add_waiter(self, w: Waiter) -> None:
        """Another workflow (a renewal) wants to hear about changes; it is told the state now."""
        if w.workflow_id not in self._waiters:
            self._waiters.append(w.workflow_id)
        if self._status != S.CHECKING:
            await self._signal_waiter(w.workflow_id, self._change())

    @workflow.update
    async def checked(self) -> AuthorizationView:
        """The request once the first checks are done (someone asked, or refused): what a
        starter waits for right after starting (update-with-start), instead of polling."""
        await workflow.wait_condition(lambda: self._status != S.CHECKING)
        return self._view()

    @workflow.query
    def status(self) -> AuthorizationView:
        """The authorization as it stands."""
        return self._view()

    # ----- internals -----------------------------------------------------------------------

    def _is_repeat(self, d: Decision, kind: str) -> bool:
        """The same person repeating a decision that already took effect."""
        if kind == "approve":
            return (
                self._status in (S.AWAITING_CUSTOMER, S.APPROVED)
                and d.actor.user_id == self._distributor_approved_by
            ) or (self._status == S.APPROVED and d.actor.user_id == self._decided_by)
        return self._status == S.CANCELLED and d.actor.user_id == self._decided_by

    def _check_pending(self, kind: str) -> None:
        if self._status in PENDING_STATUSES:
            return
        if self._status == S.CHECKING:
            raise InvalidStateError(
                "the request is still being checked; try again in a moment"
            ).to_application_error()
        raise InvalidStateError(
            f"cannot {kind}: this authorization request is already {self._status.value.lower()}"
            + (f" ({self._reason})" if self._reason else "")
        ).to_application_error()

    def _distributor(self) -> str | None:
        ctx = self._ctx
        return None if ctx is None or ctx.partner is None else ctx.partner.distributor_id

    def _partner_name(self) -> str:
        ctx = self._ctx
        return (
            self._req.partner_id
            if ctx is None or ctx.partner is None
            else (ctx.partner.company_name)
        )

    def _change(self) -> AuthorizationChanged:
        return AuthorizationChanged(
            workflow_id=workflow.info().workflow_id,
            status=self._status,
            valid_until=self._valid_until,
            reason=self._reason,
        )

    async def _notify(self) -> None:
        change = self._change()
        for w in list(self._waiters):
            await self._signal_waiter(w, change)

    async def _signal_waiter(self, waiter: str, change: AuthorizationChanged) -> None:
        try:
            await workflow.get_external_workflow_handle(waiter).signal(CHANGED_SIGNAL, change)
        except FailureError:
            # The waiter has finished: nobody is listening there any more.
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _row(self) -> StateWrite[AuthorizationRecord]:
        """This run's row as it stands now, for :func:`write_step` (with the step's tasks
        and events)."""
        assert self._requested_at is not None
        return StateWrite(
            AuthorizationActivities.record_authorization,
            AuthorizationRecord(
                run_key=run_key(),
                view=self._view(),
                requested_at=self._requested_at,
                at=workflow.now(),
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
            "distributor_name": ctx.distributor.company_name if ctx.distributor else "",
            "purpose": self._req.purpose,
            "workflow_id": workflow.info().workflow_id,
            "deadline": f"{self._deadline:%Y-%m-%d %H:%M} UTC" if self._deadline else "",
            "valid_until": (f"{self._valid_until:%Y-%m-%d %H:%M} UTC" if self._valid_until else ""),
            "validity_days": self._req.validity.days,
            "reason": self._reason or "",
            "status": self._status.value,
        }

    def _view(self) -> AuthorizationView:
        return AuthorizationView(
            workflow_id=workflow.info().workflow_id,
            partner_id=self._req.partner_id,
            customer_id=self._req.customer_id,
            status=self._status,
            requested_by=self._req.requested_by.user_id,
            purpose=self._req.purpose,
            distributor_id=self._distributor(),
            distributor_approved_by=self._distributor_approved_by,
            decided_by=self._decided_by,
            decided_at=self._decided_at,
            deadline_at=self._deadline,
            valid_until=self._valid_until,
            revoked_by=self._revoked_by,
            revoked_at=self._revoked_at,
            reason=self._reason,
            refusals=self._refusals,
            commitment_letter_version=self._letter_version,
        )
