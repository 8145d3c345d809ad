"""One request to unbind a customer or switch its association type, decided by the other side."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.unbinding import UnbindingActivities
    from domain.errors import InvalidStateError, PermissionDeniedError
    from domain.invitations import Refusal, describe_refusals
    from domain.notifications import LinkSpec
    from domain.parties import AssociationMode, BindingSnapshot, Decision
    from domain.tasks import OpenTask
    from domain.unbinding import (
        FINAL_STATUSES,
        ChangeContext,
        ChangeKind,
        ChangeRequest,
        ChangeRequestView,
        Disposition,
        Initiator,
        RequestStatus,
        approval_refusals,
        approver_role,
        canceller_refusal,
        decider_refusal,
        describe_change,
        ends_without_approval,
        initiator_of,
        lapse_outcome,
        recovers_balance,
        request_refusals,
    )
    from domain.unbinding_models import (
        ApplyChangeDecision,
        DisposeVouchers,
        LoadChangeContext,
        RecordChangeRequest,
        RecoverBalance,
    )

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
from workflows.steps import Entry, event, task_closed, task_opened, write_step

S = RequestStatus

# Past tense of each decision, for messages.
_DONE = {"approve": "approved", "reject": "rejected", "cancel": "withdrawn", "lapse": "lapsed"}


@workflow.defn
class UnbindingWorkflow:
    """A change request on one binding: checks when raised, an approval window with a reminder,
    the other side's decision as an update, then the effects (balance recovery, vouchers, the
    binding ended or switched) and emails to both sides."""

    @workflow.init
    def __init__(self, req: ChangeRequest) -> None:
        self._req = req
        self._status = S.CHECKING
        self._ctx: ChangeContext | None = None
        self._initiator: Initiator | None = None
        self._mode: AssociationMode | None = None
        self._request_id: int | None = None
        self._expires_at: datetime | None = None
        self._decision: str | None = None  # approve | reject | cancel | lapse
        self._decided_by: str | None = None
        self._decided_at: datetime | None = None
        self._comment: str | None = None
        self._auto = False
        self._outcome: str | None = None
        self._refusals: list[Refusal] = []
        self._recovered: Decimal | None = None
        self._dispositions: list[Disposition] = []
        self._task_open = False
        # A decision records itself under the lock; run() applies it (also the lapse).
        self._guard = DecisionLock(req.decision_timeout)

    @workflow.run
    async def run(self, req: ChangeRequest) -> ChangeRequestView:
        """Checks, asks the other side, waits for its decision or the window, then applies."""
        rk = run_key()
        ctx = await self._load()
        refusals = request_refusals(ctx, req, workflow.now())
        if refusals:
            # Refused when raised: nothing is recorded, nobody is emailed.
            self._refusals = refusals
            self._status = S.REFUSED
            self._outcome = describe_refusals(refusals)
            set_business_status(self._status.value)
            # A starter's `checked` update may be waiting on this status: let it answer before
            # the run completes (no command: stored histories replay unchanged).
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self._view()
        assert ctx.binding is not None
        who = initiator_of(req.requested_by, ctx.binding)
        assert isinstance(who, Initiator)
        self._initiator, self._mode = who, ctx.binding.mode
        immediate = ends_without_approval(req, who, ctx.binding.mode)
        if not immediate:
            self._expires_at = workflow.now() + req.approval_window
        ref = await workflow.execute_activity_method(
            UnbindingActivities.record_change_request,
            RecordChangeRequest(
                key=rk,
                workflow_id=workflow.info().workflow_id,
                binding_id=ctx.binding.id,
                partner_id=ctx.binding.partner_id,
                customer_id=ctx.binding.customer_id,
                kind=req.kind,
                initiator=who,
                requested_by=req.requested_by.user_id,
                reason=req.reason,
                previous_mode=ctx.binding.mode,
                new_mode=req.to_mode,
                created_at=workflow.now(),
                expires_at=self._expires_at,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._request_id = ref.id
        requested = event(
            f"{rk}:requested",
            "requested",
            req.requested_by.user_id,
            f"{self._what()} of binding {ctx.binding.id} by the {who.value}"
            + (f": {req.reason}" if req.reason else ""),
        )
        if immediate:
            await write_step(requested)
            self._decision, self._auto = "approve", True
            self._decided_by, self._decided_at = req.requested_by.user_id, workflow.now()
            self._comment = "a consulting binding ends at once, without the customer's approval"
        else:
            # The request's event and the other side's task: one step.
            await write_step(requested, self._decision_task(rk))
            self._task_open = True
            await self._send_request(rk)
            # PENDING once the other side has been asked: decisions are taken from now on.
            self._status = S.PENDING
            set_business_status(self._status.value)
            if not await self._wait_with_reminder(rk):
                self._decision, self._decided_at = "lapse", workflow.now()
        async with self._guard.turn(bounded=False):
            await self._conclude()
        await self._finish(rk)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    # ----- decisions -------------------------------------------------------------------

    @workflow.update
    async def approve(self, d: Decision) -> ChangeRequestView:
        """The other side approves; the effects are applied before this returns."""
        await verify_actor(d.actor, d.operator)
        self._validate_approve(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            self._take("approve", d)
        await workflow.wait_condition(lambda: self._status in FINAL_STATUSES)
        return self._view()

    @approve.validator
    def _validate_approve(self, d: Decision) -> None:
        self._check_decider(d, "approve")

    @workflow.update
    async def reject(self, d: Decision) -> ChangeRequestView:
        """The other side rejects; the binding stays as it is."""
        await verify_actor(d.actor, d.operator)
        self._validate_reject(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            self._take("reject", d)
        await workflow.wait_condition(lambda: self._status in FINAL_STATUSES)
        return self._view()

    @reject.validator
    def _validate_reject(self, d: Decision) -> None:
        self._check_decider(d, "reject")

    @workflow.update
    async def cancel(self, d: Decision) -> ChangeRequestView:
        """The side that raised the request (or ops) withdraws it."""
        await verify_actor(d.actor, d.operator)
        self._validate_cancel(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            self._take("cancel", d)
        await workflow.wait_condition(lambda: self._status in FINAL_STATUSES)
        return self._view()

    @cancel.validator
    def _validate_cancel(self, d: Decision) -> None:
        self._check_raised()
        initiator, binding = self._parties()
        refusal = canceller_refusal(d.actor, initiator, binding)
        if refusal is not None:
            raise PermissionDeniedError(refusal.message, rule=refusal.rule).to_application_error()
        self._check_state("cancel")

    @workflow.update
    async def checked(self) -> ChangeRequestView:
        """The request once the first checks are done (the other side asked, ended at once, or
        refused): what a starter waits for right after starting, instead of polling ``status``."""
        await workflow.wait_condition(lambda: self._status != S.CHECKING)
        return self._view()

    @workflow.query
    def status(self) -> ChangeRequestView:
        """The request as it stands."""
        return self._view()

    # ----- internals ---------------------------------------------------------------------

    def _take(self, kind: str, d: Decision) -> None:
        # Runs right after the validator's second check, before any further await: the first
        # decision wins and a repeated one changes nothing.
        if self._decision is None:
            self._decision = kind
            self._decided_by = d.actor.user_id
            self._decided_at = workflow.now()
            self._comment = d.comment

    def _check_raised(self) -> None:
        if self._status == S.CHECKING:
            raise InvalidStateError(
                "the request is still being checked; try again in a moment"
            ).to_application_error()
        if self._initiator is None:
            raise InvalidStateError(
                f"this request was refused when it was raised: {self._outcome}"
            ).to_application_error()

    def _check_decider(self, d: Decision, kind: str) -> None:
        self._check_raised()
        initiator, binding = self._parties()
        refusal = decider_refusal(d.actor, initiator, binding)
        if refusal is not None:
            raise PermissionDeniedError(refusal.message, rule=refusal.rule).to_application_error()
        self._check_state(kind)

    def _parties(self) -> tuple[Initiator, BindingSnapshot]:
        # Set before the request is PENDING: missing here is a bug, refused with a typed error.
        ctx = present(self._ctx, "the request context")
        return present(self._initiator, "the initiator"), present(ctx.binding, "the binding")

    def _check_state(self, kind: str) -> None:
        if self._decision == kind:
            return  # repeated: the handler returns the first result
        if self._decision is None and self._status == S.PENDING:
            return
        if self._decision == "lapse" and self._expires_at is not None:
            what = (
                "lapsed"
                if self._initiator == Initiator.PARTNER
                else "was approved automatically (no answer in time)"
            )
            raise InvalidStateError(
                f"this request {what} on {self._expires_at:%Y-%m-%d %H:%M} UTC"
            ).to_application_error()
        done = _DONE.get(self._decision or "", self._status.value.lower())
        by = f" by {self._decided_by}" if self._decided_by else ""
        raise InvalidStateError(
            f"this request was already {done}{by}; it cannot be {_DONE.get(kind, kind)} now"
        ).to_application_error()

    async def _load(self) -> ChangeContext:
        ctx = await workflow.execute_activity_method(
            UnbindingActivities.load_change_context,
            LoadChangeContext(binding_id=self._req.binding_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        if self._ctx is None or ctx.binding is not None:
            self._ctx = ctx
        return ctx

    async def _wait_with_reminder(self, rk: str) -> bool:
        """True once someone decided; False when the window lapsed."""
        assert self._expires_at is not None
        remind_at = self._expires_at - self._req.reminder_before
        if self._req.reminder_before > timedelta(0) and remind_at > workflow.now():
            if await self._wait_until(remind_at):
                return True
            await self._send_reminder(rk)
        return await self._wait_until(self._expires_at)

    async def _wait_until(self, deadline: datetime) -> bool:
        timeout = deadline - workflow.now()
        if timeout <= timedelta(0):
            return self._decision is not None
        try:
            await workflow.wait_condition(lambda: self._decision is not None, timeout=timeout)
        except TimeoutError:
            return self._decision is not None
        return True

    async def _conclude(self) -> None:
        """Turns the decision into the final status and its effects."""
        assert self._initiator is not None and self._mode is not None
        decision = self._decision
        if decision == "reject":
            await self._apply(S.REJECTED)
            return
        if decision == "cancel":
            await self._apply(S.CANCELLED)
            return
        if decision == "lapse":
            if lapse_outcome(self._initiator) == S.LAPSED:
                await self._apply(S.LAPSED)
                return
            self._auto = True
            self._comment = "the partner did not answer within the window; a customer may leave"
        ctx = await self._load()
        refusals = approval_refusals(ctx, self._req, self._mode)
        if refusals:
            self._refusals = refusals
            await self._apply(S.REFUSED)
            return
        assert ctx.binding is not None
        rid = self._request_id
        assert rid is not None
        if recovers_balance(self._mode):
            recovery = await workflow.execute_activity_method(
                UnbindingActivities.recover_allocated_balance,
                RecoverBalance(request_id=rid, binding_id=ctx.binding.id, at=workflow.now()),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            self._recovered = recovery.amount
            await audit(
                f"{run_key()}:balance_recovered",
                "balance_recovered",
                "system",
                f"{recovery.amount} CNY recovered for partner {ctx.binding.partner_id}",
            )
        if self._req.kind == ChangeKind.UNBIND:
            disposed = await workflow.execute_activity_method(
                UnbindingActivities.dispose_customer_vouchers,
                DisposeVouchers(
                    request_id=rid,
                    partner_id=ctx.binding.partner_id,
                    customer_id=ctx.binding.customer_id,
                    at=workflow.now(),
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            self._dispositions = disposed.items
            if disposed.items:
                await audit(
                    f"{run_key()}:vouchers_disposed",
                    "vouchers_disposed",
                    "system",
                    ", ".join(f"{d.voucher_id} {d.action.value}" for d in disposed.items),
                )
        await self._apply(S.APPROVED)

    async def _apply(self, status: RequestStatus) -> None:
        """Stores the final status; an approval ends or switches the binding in the same
        transaction."""
        assert self._mode is not None and self._request_id is not None
        req = self._req
        effect: Literal["none", "end_binding", "switch_mode"] = "none"
        if status == S.APPROVED:
            effect = "end_binding" if req.kind == ChangeKind.UNBIND else "switch_mode"
        decided_by = None if self._decision == "lapse" else self._decided_by
        await workflow.execute_activity_method(
            UnbindingActivities.apply_change_decision,
            ApplyChangeDecision(
                request_id=self._request_id,
                status=status,
                decided_by=decided_by,
                decided_at=self._decided_at or workflow.now(),
                comment=self._comment,
                auto_decided=self._auto,
                effect=effect,
                binding_id=req.binding_id,
                previous_mode=self._mode,
                new_mode=req.to_mode,
                ended_reason=self._ended_reason(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._status = status
        self._outcome = self._describe_outcome()

    def _ended_reason(self) -> str:
        req = self._req
        if self._decision == "lapse":
            approved = "approved automatically (no answer in time)"
        elif self._auto:
            approved = f"ended at once by {self._decided_by}"
        else:
            approved = f"approved by {self._decided_by}"
        return (
            f"{self._initiator.value if self._initiator else ''} request {self._request_id} "
            f"raised by {req.requested_by.user_id}, {approved}: "
            f"{req.reason or 'no reason given'}"
        )

    def _describe_outcome(self) -> str:
        req, s = self._req, self._status
        by = self._decided_by or "system"
        if s == S.APPROVED:
            effect = (
                f"binding {req.binding_id} ended"
                if req.kind == ChangeKind.UNBIND
                else f"binding {req.binding_id} switched from "
                f"{self._mode.value if self._mode else '?'} to "
                f"{req.to_mode.value if req.to_mode else '?'} mode"
            )
            how = "approved automatically: " if self._auto else f"approved by {by}: "
            if self._auto and self._decision == "approve":
                how = "ended at once (international-site rule for consulting bindings): "
            return how + effect
        if s == S.REJECTED:
            return f"rejected by {by}" + (f": {self._comment}" if self._comment else "")
        if s == S.CANCELLED:
            return f"withdrawn by {by}" + (f": {self._comment}" if self._comment else "")
        if s == S.LAPSED:
            return "the customer did not answer within the window; the binding is unchanged"
        return describe_refusals(self._refusals)

    def _decision_task(self, rk: str) -> OpenTask:
        """The other side's task to approve or reject the request."""
        ctx, who = self._ctx, self._initiator
        assert ctx is not None and ctx.binding is not None and who is not None
        assert ctx.partner is not None and ctx.customer is not None
        what = self._what().capitalize()
        title = (
            f"{what} requested by {ctx.partner.company_name}"
            if who == Initiator.PARTNER
            else f"{ctx.customer.name} asks to be unbound"
        )
        party = ctx.binding.customer_id if who == Initiator.PARTNER else ctx.binding.partner_id
        return task_opened(
            f"{rk}:decision",
            "binding_change_approval",
            f"{title} (binding {ctx.binding.id})",
            approver_role(who),
            party,
            self._expires_at,
        )

    def _approvers(self) -> list[tuple[str, str | None]]:
        """(email, user id for the links) of whoever decides; no id -> no links."""
        ctx = self._ctx
        assert ctx is not None and ctx.binding is not None
        assert ctx.partner is not None and ctx.customer is not None
        if self._initiator == Initiator.PARTNER:
            return [(ctx.customer.email, ctx.customer.id)]
        if ctx.partner_admins:
            return [(a.email, a.user_id) for a in ctx.partner_admins]
        return [(ctx.partner.contact_email, None)]

    def _links(self, actor_id: str | None) -> list[LinkSpec]:
        if actor_id is None:
            return []
        task = f"{run_key()}:decision"
        return [
            link("approve_url", "approve", actor_id, self._expires_at, task_key=task),
            link("reject_url", "reject", actor_id, self._expires_at, task_key=task),
        ]

    async def _send_request(self, rk: str) -> None:
        for to, actor_id in self._approvers():
            await send_email(
                f"{rk}:unbinding_requested:{to}",
                to,
                "unbinding_requested",
                self._email_context(self._other_side()),
                self._links(actor_id),
            )
        side = self._initiator_side()
        await send_email(
            f"{rk}:unbinding_submitted:{self._address(side)}",
            self._address(side),
            "unbinding_submitted",
            self._email_context(side),
        )

    async def _send_reminder(self, rk: str) -> None:
        for to, actor_id in self._approvers():
            await send_email(
                f"{rk}:unbinding_reminder:{to}",
                to,
                "unbinding_reminder",
                self._email_context(self._other_side()),
                self._links(actor_id),
            )
        await audit(f"{rk}:reminder", "reminder_sent", "system", self._other_side())

    async def _finish(self, rk: str) -> None:
        """Closes the task, records the decision and tells both sides."""
        status = self._status
        # The task closed and the decision's event: one step (the decision is final here).
        step: list[Entry] = []
        if self._task_open:
            task_status = {
                S.CANCELLED: "cancelled",
                S.LAPSED: "expired",
            }.get(status, "expired" if self._decision == "lapse" else "done")
            step.append(
                task_closed(
                    f"{rk}:decision",
                    task_status,
                    decision=status.value.lower(),
                    comment=self._comment or self._outcome,
                    decided_by=None if self._decision == "lapse" else self._decided_by,
                )
            )
        name = "auto_approved" if self._auto and status == S.APPROVED else status.value.lower()
        actor = "system" if self._decision == "lapse" else (self._decided_by or "system")
        step.append(event(f"{rk}:decision", name, actor, self._outcome or ""))
        await write_step(*step)
        template = f"unbinding_{status.value.lower()}"
        for side in ("partner", "customer"):
            to = self._address(side)
            await send_email(
                f"{rk}:{template}:{side}:{to}", to, template, self._email_context(side)
            )
        set_business_status(status.value)

    def _initiator_side(self) -> str:
        return "partner" if self._initiator == Initiator.PARTNER else "customer"

    def _other_side(self) -> str:
        return "customer" if self._initiator == Initiator.PARTNER else "partner"

    def _address(self, side: str) -> str:
        ctx = self._ctx
        assert ctx is not None and ctx.partner is not None and ctx.customer is not None
        return ctx.partner.contact_email if side == "partner" else ctx.customer.email

    def _what(self) -> str:
        return describe_change(self._req.kind, self._req.to_mode)

    def _email_context(self, recipient: str) -> dict[str, object]:
        ctx, req = self._ctx, self._req
        assert ctx is not None and ctx.partner is not None and ctx.customer is not None
        return {
            "recipient": recipient,
            "recipient_name": (
                ctx.partner.company_name if recipient == "partner" else ctx.customer.name
            ),
            "partner_name": ctx.partner.company_name,
            "partner_id": ctx.partner.id,
            "customer_name": ctx.customer.name,
            "customer_id": ctx.customer.id,
            "binding_id": req.binding_id,
            "request_id": self._request_id,
            "what": self._what(),
            "kind": req.kind.value,
            "mode": self._mode.value if self._mode else "",
            "to_mode": req.to_mode.value if req.to_mode else "",
            "initiator": self._initiator.value if self._initiator else "",
            "requested_by": req.requested_by.name or req.requested_by.user_id,
            "reason": req.reason or "",
            "expires_at": (f"{self._expires_at:%Y-%m-%d %H:%M} UTC" if self._expires_at else ""),
            "decided_by": self._decided_by or "",
            "comment": self._comment or "",
            "outcome": self._outcome or "",
            "auto_decided": self._auto,
            "recovered_amount": str(self._recovered) if self._recovered is not None else "",
            "dispositions": [d.model_dump(mode="json") for d in self._dispositions],
            "workflow_id": workflow.info().workflow_id,
            "approve_url": "",
            "reject_url": "",
        }

    def _view(self) -> ChangeRequestView:
        ctx = self._ctx
        binding = ctx.binding if ctx is not None else None
        return ChangeRequestView(
            workflow_id=workflow.info().workflow_id,
            request_id=self._request_id,
            binding_id=self._req.binding_id,
            partner_id=binding.partner_id if binding else None,
            customer_id=binding.customer_id if binding else None,
            kind=self._req.kind,
            initiator=self._initiator,
            mode=self._mode,
            to_mode=self._req.to_mode,
            status=self._status,
            requested_by=self._req.requested_by.user_id,
            request_reason=self._req.reason,
            expires_at=self._expires_at,
            decision=self._decision,
            decided_by=self._decided_by,
            decided_at=self._decided_at,
            comment=self._comment,
            auto_decided=self._auto,
            reason=self._outcome,
            refusals=self._refusals,
            recovered_amount=self._recovered,
            dispositions=self._dispositions,
        )
