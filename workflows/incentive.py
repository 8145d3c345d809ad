"""One partner's incentive for one month: statement, application, invoices, approval, payment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NoReturn

from temporalio import workflow

from domain.text import N_

with workflow.unsafe.imports_passed_through():
    from activities.incentives import IncentiveActivities
    from activities.payments import PaymentActivities
    from domain.errors import InvalidStateError, PermissionDeniedError
    from domain.incentive_models import (
        Contacts,
        CreditRecharge,
        IncentiveFacts,
        IssueVoucher,
        OpenPayout,
        PartnerMonth,
        PartnerQuery,
        PayoutUpdate,
        RecordInvoice,
        StaffQuery,
    )
    from domain.incentives import (
        FINAL_STATUSES,
        AcceptedInvoice,
        BillPaid,
        BillStatus,
        CertificationRecorded,
        IncentiveRequest,
        InvoiceListItem,
        InvoiceSubmission,
        InvoiceVerification,
        PayoutApplication,
        PayoutMethod,
        PayoutStatus,
        PayoutView,
        apply_refusal,
        finance_refusal,
        frozen_reason,
        held_reason,
        release_time,
    )
    from domain.invoices import InvoiceExpectations, describe_problems
    from domain.parties import Decision, PartnerSnapshot, Role
    from domain.payment_models import BankTransfer
    from domain.performance import ZERO, Statement
    from domain.tasks import AuditRecord

from workflows.common import (
    ACTIVITY_TIMEOUT,
    RETRY,
    audit,
    link,
    send_email,
    set_business_status,
    verify_actor,
)
from workflows.guard import DecisionLock, bound, invariant, present
from workflows.steps import (
    Entry,
    StateWrite,
    event,
    task_closed,
    task_opened,
    write_step,
)

S = PayoutStatus
PAYMENT_TIMEOUT = timedelta(seconds=60)


@workflow.defn
class IncentivePayoutWorkflow:
    """The payout of one partner's incentive for one month (docs/incentives.md).

    Frozen while a bill of the cycle is unpaid; a zero incentive closes with a notice. The
    partner admin applies with a method: a voucher is issued at once; a bank transfer or a
    recharge-account credit needs business-info certification (else HELD), then invoices that
    pass verification and add up to the amount, then finance approval, then one payment.
    """

    @workflow.init
    def __init__(self, req: IncentiveRequest) -> None:
        self._req = req
        self._status = S.CALCULATING
        self._reason: str | None = None
        self._partner: PartnerSnapshot | None = None
        self._statement: Statement | None = None
        self._release_at: datetime | None = None
        self._method: PayoutMethod | None = None
        self._applied_by: str | None = None
        self._applied_at: datetime | None = None
        self._notified_at: datetime | None = None
        self._invoice_due_at: datetime | None = None
        self._invoices: list[AcceptedInvoice] = []
        self._accepted: dict[str, InvoiceVerification] = {}  # by invoice number
        self._refused = 0
        self._last_verification: InvoiceVerification | None = None
        self._decision: str | None = None  # approve | reject
        self._decided_by: str | None = None
        self._decided_at: datetime | None = None
        self._payment_reference: str | None = None
        self._paid_at: datetime | None = None
        self._bill_signal = False
        self._certification_signal = False
        self._guard = DecisionLock(req.decision_timeout)  # an invoice is being verified

    @property
    def _id(self) -> str:
        return workflow.info().workflow_id

    @property
    def _amount(self) -> Decimal:
        return self._statement.payable if self._statement is not None else ZERO

    @property
    def _invoiced(self) -> Decimal:
        return sum((i.total for i in self._invoices), ZERO)

    @workflow.run
    async def run(self, req: IncentiveRequest) -> PayoutView:
        """Runs the payout from statement to payment (or to its notice, lapse or rejection)."""
        record = await workflow.execute_activity_method(
            IncentiveActivities.open_payout,
            OpenPayout(
                payout_id=self._id,
                partner_id=req.partner_id,
                period=req.period,
                run_id=workflow.info().run_id,
                at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        if record.run_id != workflow.info().run_id and record.status in FINAL_STATUSES:
            # Never a second payout: an earlier run already settled this month.
            self._status = S.ALREADY_SETTLED
            self._reason = (
                f"the {req.period} payout of {req.partner_id} was already settled "
                f"({record.status.value}) by an earlier run"
            )
            set_business_status(self._status.value)
            return await self._done()  # a starter's `checked` update answers first

        facts = await self._compute()
        # A release from FROZEN ends on its event, which the step after it writes.
        released: list[AuditRecord] = []
        if self._amount > 0:  # nothing to pay: nothing to freeze
            released = await self._wait_for_bills(facts.bill)
        if self._amount <= 0:
            await self._no_incentive(released)
            return await self._done()

        offered_at = workflow.now()
        deadline = offered_at + req.application_window
        await self._offer(deadline, released)
        if not await self._wait_for_application(offered_at, deadline):
            await self._expire(
                "the partner did not apply for the payout within the application window",
                "application",
            )
            return await self._done()
        await self._record_application()

        if self._method == PayoutMethod.VOUCHER:
            await self._pay_by_voucher()
            return await self._done()

        certified = await self._wait_for_certification(deadline)
        if certified is None:
            await self._expire(
                "business-info certification was not completed within the application window",
                "application",
            )
            return await self._done()
        await self._notify_invoice(certified)
        if not await self._wait_for_invoices():
            await self._expire(
                "the invoices were not submitted within the invoice window", "invoice"
            )
            return await self._done()
        await self._ask_finance()
        await self._wait_for_decision()
        if self._decision == "reject":
            await self._rejected()
        else:
            await self._approved()
            await self._pay()
        return await self._done()

    # ----- people and facts ------------------------------------------------------------

    @workflow.update
    async def apply(self, app: PayoutApplication) -> PayoutView:
        """The partner admin applies for the payout with a method."""
        await verify_actor(app.actor)
        self._validate_apply(app)  # again: the state may have moved while we looked the actor up
        if self._method is None:
            self._method = app.method
            self._applied_by = app.actor.user_id
            self._applied_at = workflow.now()
        # Answer with what the application led to (HELD, AWAITING_INVOICE, PAID...).
        await workflow.wait_condition(lambda: self._status != S.AWAITING_APPLICATION)
        return self._view()

    @apply.validator
    def _validate_apply(self, app: PayoutApplication) -> None:
        refusal = apply_refusal(app.actor, self._req.partner_id)
        if refusal is not None:
            raise PermissionDeniedError(refusal).to_application_error()
        if self._method is not None:
            if self._method == app.method:
                return  # repeated: the handler returns the first result
            raise InvalidStateError(
                f"the payout was already applied for by {self._method.value} "
                f"({self._applied_by}); the method cannot be changed"
            ).to_application_error()
        if self._status != S.AWAITING_APPLICATION:
            self._refuse_state("apply for")

    @workflow.update
    async def submit_invoice(self, sub: InvoiceSubmission) -> InvoiceVerification:
        """The partner submits an invoice's details; every verification rule is checked."""
        await verify_actor(sub.actor)
        self._validate_invoice(sub)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            return await self._verify_invoice(sub)

    async def _verify_invoice(self, sub: InvoiceSubmission) -> InvoiceVerification:
        # Under the decision lock: checked, verified, recorded and answered in one turn.
        number = sub.invoice.invoice_number
        if number in self._accepted:
            return self._accepted[number]  # a repeated submission: the first result
        if self._status != S.AWAITING_INVOICE:
            self._refuse_state("submit invoices for")
        partner = present(self._partner, "the partner")
        notified_at = present(self._notified_at, "the notification time")
        outcome = await workflow.execute_activity_method(
            IncentiveActivities.record_invoice,
            RecordInvoice(
                invoice=sub.invoice,
                expectations=InvoiceExpectations(
                    payout_id=self._id,
                    vendor_title=self._req.vendor_invoice_title,
                    vendor_tax_id=self._req.vendor_tax_id,
                    partner_company=partner.company_name,
                    partner_uscc=partner.uscc,
                    payout_amount=self._amount,
                    already_invoiced=self._invoiced,
                    notified_on=self._req.business_date(notified_at),
                    today=self._req.business_date(workflow.now()),
                    numbers_in_use={i.invoice_number: self._id for i in self._invoices},
                ),
                submitted_by=sub.actor.user_id,
                at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        if outcome.accepted:
            self._invoices.append(
                AcceptedInvoice(
                    invoice_number=number,
                    total=sub.invoice.total,
                    issued_on=sub.invoice.issued_on,
                    submitted_by=sub.actor.user_id,
                )
            )
            await audit(
                f"{self._id}:invoice:{number}",
                "invoice_accepted",
                sub.actor.user_id,
                f"invoice {number}, total {sub.invoice.total}; "
                f"{self._amount - self._invoiced} remains",
            )
        else:
            self._refused += 1
            await audit(
                f"{self._id}:invoice-refused:{self._refused}",
                "invoice_refused",
                sub.actor.user_id,
                f"invoice {number}: {describe_problems(outcome.problems)}",
            )
        result = InvoiceVerification(
            invoice_number=number,
            accepted=outcome.accepted,
            problems=outcome.problems,
            invoiced=self._invoiced,
            remaining=self._amount - self._invoiced,
            status=self._status,
        )
        if outcome.accepted:
            self._accepted[number] = result
        self._last_verification = result
        return result

    @submit_invoice.validator
    def _validate_invoice(self, sub: InvoiceSubmission) -> None:
        refusal = apply_refusal(sub.actor, self._req.partner_id)
        if refusal is not None:
            raise PermissionDeniedError(refusal).to_application_error()
        if sub.invoice.invoice_number in self._accepted:
            return  # repeated: the handler returns the first result
        if self._status != S.AWAITING_INVOICE:
            self._refuse_state("submit invoices for")

    @workflow.update
    async def approve(self, d: Decision) -> PayoutView:
        """Finance approves: the payout is paid."""
        await verify_actor(d.actor, d.operator)
        self._validate_approve(d)  # again: the state may have moved while we looked the actor up
        if self._decision is None:
            self._decide("approve", d)
        await workflow.wait_condition(lambda: self._status != S.AWAITING_APPROVAL)
        return self._view()

    @approve.validator
    def _validate_approve(self, d: Decision) -> None:
        self._check_finance(d, "approve")

    @workflow.update
    async def reject(self, d: Decision) -> PayoutView:
        """Finance rejects, with the reason in ``comment``."""
        await verify_actor(d.actor, d.operator)
        self._validate_reject(d)  # again: the state may have moved while we looked the actor up
        if self._decision is None:
            self._decide("reject", d)
        await workflow.wait_condition(lambda: self._status != S.AWAITING_APPROVAL)
        return self._view()

    @reject.validator
    def _validate_reject(self, d: Decision) -> None:
        self._check_finance(d, "reject")
        if self._decision is None and not (d.comment or "").strip():
            raise InvalidStateError(
                "a rejection needs a reason: give it in the comment, it is sent to the partner"
            ).to_application_error()

    @workflow.signal
    def certification_recorded(self, fact: CertificationRecorded) -> None:
        """The partner's business-info certification was recorded: a HELD payout goes on."""
        if fact.partner_id == self._req.partner_id:
            self._certification_signal = True

    @workflow.signal
    def bill_paid(self, fact: BillPaid) -> None:
        """The bill-status import shows the cycle paid: a FROZEN incentive is re-checked."""
        self._bill_signal = True

    @workflow.update
    async def checked(self) -> PayoutView:
        """The payout once its first checks are done, i.e. past CALCULATING (FROZEN while a
        bill is unpaid, offered, no incentive, already settled): what a starter waits for
        right after starting (update-with-start), instead of polling ``status``."""
        await workflow.wait_condition(lambda: self._status != S.CALCULATING)
        return self._view()

    @workflow.update
    async def invoices_recorded(self) -> PayoutView:
        """The payout once its invoices are complete and recorded (AWAITING_APPROVAL or later)
        or once it has ended: what the partner's side waits for after its last invoice before
        finance may decide, instead of polling ``status``. Read-only."""
        await workflow.wait_condition(
            lambda: (
                self._status in (S.AWAITING_APPROVAL, S.APPROVED) or self._status in FINAL_STATUSES
            )
        )
        return self._view()

    @workflow.query
    def status(self) -> PayoutView:
        """The payout as it stands."""
        return self._view()

    # ----- steps --------------------------------------------------------------------------

    async def _compute(self) -> IncentiveFacts:
        facts = await workflow.execute_activity_method(
            IncentiveActivities.compute_incentive,
            PartnerMonth(partner_id=self._req.partner_id, period=self._req.period),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._partner = facts.partner
        self._statement = facts.statement
        return facts

    async def _wait_for_bills(self, bill: BillStatus) -> list[AuditRecord]:
        """FROZEN until every bill of the cycle is paid, released the day after payment.

        Returns the release's event (none when it was never frozen): the next step writes it.
        """
        frozen = False
        while True:
            release = release_time(bill, workflow.now(), self._req.business_utc_offset)
            if release is not None and release <= workflow.now():
                break
            reason = (
                frozen_reason(self._req.period, bill)
                if release is None
                else f"the {self._req.period} bills were paid on {bill.paid_on}; the incentive "
                f"is released the day after payment, on {self._req.business_date(release)}"
            )
            if not frozen:
                self._release_at = release
                await self._step(
                    self._row(S.FROZEN, reason=reason),
                    event(f"{self._id}:frozen", "frozen", "system", reason),
                )
                await self._email_partner("incentive_frozen", "frozen")
                frozen = True
            elif reason != self._reason:  # e.g. the bills were paid: now the release day
                self._release_at = release
                await self._step(self._row(S.FROZEN, reason=reason))
            wake = release or workflow.now() + self._req.recheck_every
            await self._wait_until(lambda: self._bill_signal, wake)
            # Cleared just before reading, so a signal that comes in meanwhile is never lost.
            self._bill_signal = False
            bill = await workflow.execute_activity_method(
                IncentiveActivities.bill_status,
                PartnerMonth(partner_id=self._req.partner_id, period=self._req.period),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
        if not frozen:
            return []
        # Released: the statement is recomputed from the billing data as it is now.
        self._release_at = None
        self._reason = None
        await self._compute()
        return [
            event(f"{self._id}:released", "released", "system", f"bills paid on {bill.paid_on}")
        ]

    async def _no_incentive(self, earlier: Sequence[Entry]) -> None:
        st = self._statement
        assert st is not None
        reason = N_("no incentive this month")
        if st.carried_out < 0:
            reason += f"; a negative incentive of {-st.carried_out} is carried to the next month"
        await self._step(*earlier, self._row(S.NO_INCENTIVE, reason=reason, with_statement=True))
        await self._email_partner("incentive_none", "none")
        await audit(f"{self._id}:no-incentive", "no_incentive", "system", reason)

    async def _offer(self, deadline: datetime, earlier: Sequence[Entry]) -> None:
        await self._step(
            *earlier,
            self._row(S.AWAITING_APPLICATION, with_statement=True),
            task_opened(
                f"{self._id}:application",
                "incentive_application",
                f"Apply for the {self._req.period} incentive of {self._amount} CNY",
                Role.PARTNER_ADMIN,
                self._req.partner_id,
                deadline,
            ),
        )
        await self._email_partner("incentive_statement", "statement", deadline=deadline)
        await audit(
            f"{self._id}:statement", "statement_sent", "system", f"payable {self._amount} CNY"
        )

    async def _wait_for_application(self, offered_at: datetime, deadline: datetime) -> bool:
        applied: Callable[[], bool] = lambda: self._method is not None  # noqa: E731
        remind_at = offered_at + self._req.application_reminder_after
        if self._req.application_reminder_after > timedelta(0) and remind_at < deadline:
            if await self._wait_until(applied, remind_at):
                return True
            await self._email_partner(
                "incentive_application_reminder", "apply-reminder", deadline=deadline
            )
        return await self._wait_until(applied, deadline)

    async def _record_application(self) -> None:
        assert self._method is not None
        await write_step(
            task_closed(
                f"{self._id}:application",
                "done",
                decision=self._method.value,
                decided_by=self._applied_by,
            ),
            event(
                f"{self._id}:applied",
                "applied",
                self._applied_by or "",
                f"method {self._method.value}",
            ),
        )

    async def _pay_by_voucher(self) -> None:
        assert self._applied_at is not None
        voucher = await workflow.execute_activity_method(
            IncentiveActivities.issue_voucher,
            IssueVoucher(
                key=f"{self._id}:voucher",
                payout_id=self._id,
                partner_id=self._req.partner_id,
                amount=self._amount,
                at=self._applied_at,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        await self._paid(voucher.voucher_code, voucher.issued_at)

    async def _wait_for_certification(self, deadline: datetime) -> list[AuditRecord] | None:
        """HELD until the partner's business info is certified (the vendor's rule).

        Returns the certification's event (none when it was never held), which the next step
        writes; None when the application window lapsed while held.
        """
        self._certification_signal = False
        partner = await self._load_partner()
        held = False
        while (why := held_reason(partner)) is not None:
            if not held:
                await self._step(self._row(S.HELD, reason=why))
                await self._email_partner("incentive_held", "held")
                await audit(f"{self._id}:held", "held", "system", why)
                held = True
            wake = min(deadline, workflow.now() + self._req.recheck_every)
            await self._wait_until(lambda: self._certification_signal, wake)
            # Cleared just before reading, so a signal that comes in meanwhile is never lost.
            self._certification_signal = False
            partner = await self._load_partner()
            if held_reason(partner) is not None and workflow.now() >= deadline:
                return None
        if not held:
            return []
        self._reason = None
        return [event(f"{self._id}:certified", "certification_recorded", "system", "")]

    async def _load_partner(self) -> PartnerSnapshot:
        partner = await workflow.execute_activity_method(
            IncentiveActivities.load_partner,
            PartnerQuery(partner_id=self._req.partner_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._partner = partner
        return partner

    async def _notify_invoice(self, earlier: Sequence[Entry]) -> None:
        self._notified_at = workflow.now()
        self._invoice_due_at = self._notified_at + self._req.invoice_window
        await self._step(
            *earlier,
            self._row(S.AWAITING_INVOICE, notified_at=self._notified_at),
            task_opened(
                f"{self._id}:invoice",
                "incentive_invoice",
                f"Issue and submit the invoices for the {self._req.period} incentive "
                f"({self._amount} CNY)",
                Role.PARTNER_ADMIN,
                self._req.partner_id,
                self._invoice_due_at,
            ),
        )
        await self._email_partner("incentive_invoice_notification", "invoice-notification")
        await audit(
            f"{self._id}:invoice-notification",
            "invoice_notification_sent",
            "system",
            f"invoice list: {self._amount} CNY to {self._req.vendor_invoice_title} "
            f"({self._req.vendor_tax_id}), due {self._invoice_due_at:%Y-%m-%d}",
        )

    async def _wait_for_invoices(self) -> bool:
        due = self._invoice_due_at
        assert due is not None
        complete: Callable[[], bool] = (  # noqa: E731
            lambda: not self._guard.held and self._invoiced >= self._amount
        )
        reminders = sorted(
            {
                due - before
                for before in self._req.invoice_reminders_before
                if workflow.now() < due - before < due
            }
        )
        for n, at in enumerate(reminders, start=1):
            if await self._wait_until(complete, at):
                return True
            await self._email_partner("incentive_invoice_reminder", f"invoice-reminder:{n}")
        if await self._wait_until(complete, due):
            return True
        # An invoice may be being recorded as the window closes: let it finish first.
        await self._guard.free()
        return complete()

    async def _ask_finance(self) -> None:
        await self._step(
            task_closed(
                f"{self._id}:invoice",
                "done",
                decision="invoiced",
                decided_by=self._invoices[-1].submitted_by,
            ),
            self._row(S.AWAITING_APPROVAL),
            # the vendor's rule: payment within 30 calendar days of receiving the invoice.
            task_opened(
                f"{self._id}:approval",
                "incentive_approval",
                f"Approve the {self._req.period} incentive payout of {self._req.partner_id} "
                f"({self._amount} CNY by {self._method.value if self._method else ''})",
                Role.FINANCE,
                None,
                workflow.now() + timedelta(days=30),
            ),
            event(
                f"{self._id}:invoices-complete",
                "invoices_complete",
                "system",
                ", ".join(f"{i.invoice_number} ({i.total})" for i in self._invoices),
            ),
        )
        await self._email_finance("incentive_approval_request", "approval")

    async def _wait_for_decision(self) -> None:
        decided: Callable[[], bool] = lambda: self._decision is not None  # noqa: E731
        if self._req.approval_reminder_after > timedelta(0) and not await self._wait_until(
            decided, workflow.now() + self._req.approval_reminder_after
        ):
            await self._email_finance("incentive_approval_reminder", "approval-reminder")
        await workflow.wait_condition(decided)

    async def _rejected(self) -> None:
        await self._step(
            self._row(
                S.REJECTED,
                reason=self._reason,
                decided_by=self._decided_by,
                decided_at=self._decided_at,
            ),
            task_closed(
                f"{self._id}:approval",
                "done",
                decision="reject",
                comment=self._reason,
                decided_by=self._decided_by,
            ),
            event(f"{self._id}:rejected", "rejected", self._decided_by or "", self._reason or ""),
        )
        await self._email_partner("incentive_rejected", "rejected")

    async def _approved(self) -> None:
        await self._step(
            self._row(S.APPROVED, decided_by=self._decided_by, decided_at=self._decided_at),
            task_closed(
                f"{self._id}:approval",
                "done",
                decision="approve",
                comment=self._reason,
                decided_by=self._decided_by,
            ),
            event(f"{self._id}:approved", "approved", self._decided_by or "", self._reason or ""),
        )

    async def _pay(self) -> None:
        partner = self._partner
        assert partner is not None and self._decided_at is not None
        if self._method == PayoutMethod.BANK_TRANSFER:
            payment = await workflow.execute_activity_method(
                PaymentActivities.pay_bank_transfer,
                BankTransfer(
                    key=f"{self._id}:bank_transfer",
                    payout_id=self._id,
                    partner_id=partner.id,
                    payee_name=partner.company_name,
                    payee_tax_id=partner.uscc,
                    amount=self._amount,
                    at=self._decided_at,
                ),
                start_to_close_timeout=PAYMENT_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            await self._paid(payment.gateway_reference, payment.paid_at)
            return
        credit = await workflow.execute_activity_method(
            IncentiveActivities.credit_recharge_account,
            CreditRecharge(
                key=f"{self._id}:recharge",
                payout_id=self._id,
                partner_id=partner.id,
                amount=self._amount,
                at=self._decided_at,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        await self._paid(f"recharge credit #{credit.credit_id}", credit.credited_at)

    async def _paid(self, reference: str, at: datetime) -> None:
        self._payment_reference = reference
        self._paid_at = at
        await self._step(
            self._row(S.PAID, payment_reference=reference, paid_at=at),
            event(
                f"{self._id}:paid",
                "paid",
                "system",
                f"{self._amount} CNY by {self._method.value if self._method else ''}: {reference}",
            ),
        )
        await self._email_partner("incentive_paid", "paid")

    async def _expire(self, why: str, task: str) -> None:
        await self._step(
            self._row(S.EXPIRED, reason=why),
            task_closed(f"{self._id}:{task}", "expired", comment=why),
            event(f"{self._id}:expired", "expired", "system", why),
        )
        await self._email_partner("incentive_expired", "expired")
        ops = await self._contacts(Role.OPS)
        for c in ops.contacts:
            await send_email(
                f"{self._id}:expired:ops:{c.user_id}",
                c.email,
                "incentive_expired_ops",
                self._email_context(),
            )

    async def _done(self) -> PayoutView:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    # ----- helpers --------------------------------------------------------------------------

    def _decide(self, kind: str, d: Decision) -> None:
        self._decision = kind
        self._decided_by = d.actor.user_id
        self._decided_at = workflow.now()
        self._reason = (d.comment or "").strip() or None

    def _check_finance(self, d: Decision, kind: str) -> None:
        refusal = finance_refusal(d.actor)
        if refusal is not None:
            raise PermissionDeniedError(refusal).to_application_error()
        if self._decision == kind:
            return  # repeated: the handler returns the first result
        if self._decision is not None:
            raise InvalidStateError(
                f"the payout was already {self._decision}d by {self._decided_by}"
            ).to_application_error()
        if self._status != S.AWAITING_APPROVAL:
            self._refuse_state(kind)

    def _refuse_state(self, what: str) -> NoReturn:
        hints = {
            S.CALCULATING: "its statement is still being calculated; try again in a moment",
            S.FROZEN: f"it is frozen: {self._reason}",
            S.HELD: f"it is held: {self._reason}",
            S.AWAITING_APPLICATION: "the partner has not applied for it yet",
            S.AWAITING_INVOICE: "its invoices are not complete yet "
            f"({self._amount - self._invoiced} CNY remain to be invoiced)",
            S.AWAITING_APPROVAL: "it is waiting for finance approval",
        }
        hint = hints.get(self._status, f"it is {self._status.value}")
        if self._status == S.AWAITING_INVOICE and self._invoiced >= self._amount:
            # The last invoice is in and the payout is moving on to approval (its records are
            # being written): nothing is missing, only a moment.
            hint = "its invoices are complete and being recorded; try again in a moment"
        raise InvalidStateError(
            f"cannot {what} payout {self._id} now: {hint}"
        ).to_application_error()

    async def _wait_until(self, cond: Callable[[], bool], until: datetime | None) -> bool:
        """Waits for ``cond`` until ``until`` (None: forever); True when it became true."""
        if cond():
            return True
        timeout = None if until is None else until - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(cond, timeout=timeout)
        except TimeoutError:
            return cond()
        return True

    def _row(
        self,
        status: PayoutStatus,
        *,
        reason: str | None = None,
        with_statement: bool = False,
        notified_at: datetime | None = None,
        decided_by: str | None = None,
        decided_at: datetime | None = None,
        payment_reference: str | None = None,
        paid_at: datetime | None = None,
    ) -> StateWrite[PayoutUpdate]:
        """The payout row of a step that enters ``status`` (written by :meth:`_step`)."""
        st = self._statement if with_statement else None
        return StateWrite(
            IncentiveActivities.record_payout,
            PayoutUpdate(
                payout_id=self._id,
                status=status,
                at=workflow.now(),
                amount=st.payable if st is not None else None,
                carried_out=st.carried_out if st is not None else None,
                statement=st,
                method=self._method.value if self._method else None,
                applied_by=self._applied_by,
                notified_at=notified_at,
                decided_by=decided_by,
                decided_at=decided_at,
                reason=reason,
                payment_reference=payment_reference,
                paid_at=paid_at,
            ),
        )

    async def _step(self, *entries: Entry) -> None:
        """Writes a step's records, the payout row (:meth:`_row`) among them, with one activity
        (``write_step``); the payout then enters the row's status and shows it in
        ``BusinessStatus``.

        A run started before ``ONE_STEP`` did those two right after the row's own activity,
        between the records written before and after it (an update waiting for the status,
        such as ``invoices_recorded``, answered there, and payouts started indexed by
        ``PartnerId``, as the monthly run starts them, upserted there): ``write_step`` replays
        them at that place.
        """
        rows = [
            (n, e.req)
            for n, e in enumerate(entries)
            if isinstance(e, StateWrite) and isinstance(e.req, PayoutUpdate)
        ]
        invariant(len(rows) == 1, "a payout step writes the payout row once")
        n, update = rows[0]

        def enter() -> None:
            self._enter(update)

        def shown() -> None:
            set_business_status(update.status.value)

        await write_step(*entries[:n], enter, entries[n], shown, *entries[n + 1 :])

    def _enter(self, row: PayoutUpdate) -> None:
        """The payout's status (and reason, when the row gives one) as the row sets them."""
        self._status = row.status
        if row.reason is not None:
            self._reason = row.reason

    async def _contacts(self, role: Role) -> Contacts:
        return await workflow.execute_activity_method(
            IncentiveActivities.staff_contacts,
            StaffQuery(role=role),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )

    async def _email_partner(
        self, template: str, key: str, *, deadline: datetime | None = None
    ) -> None:
        partner = self._partner
        assert partner is not None
        context = self._email_context()
        context["deadline"] = f"{deadline:%Y-%m-%d}" if deadline else ""
        await send_email(f"{self._id}:{key}", partner.contact_email, template, context)

    async def _email_finance(self, template: str, key: str) -> None:
        finance = await self._contacts(Role.FINANCE)
        for c in finance.contacts:
            links = [
                link("approve_url", "approve", c.user_id, None, task_key=f"{self._id}:approval"),
                link("reject_url", "reject", c.user_id, None, task_key=f"{self._id}:approval"),
            ]
            await send_email(
                f"{self._id}:{key}:{c.user_id}", c.email, template, self._email_context(), links
            )

    def _email_context(self) -> dict[str, object]:
        partner, st = self._partner, self._statement
        assert partner is not None
        return {
            "workflow_id": self._id,
            "partner_id": partner.id,
            "partner_name": partner.company_name,
            "partner_uscc": partner.uscc,
            "period": self._req.period,
            "amount": str(self._amount),
            "statement": st.model_dump(mode="json") if st is not None else None,
            "method": self._method.value if self._method else "",
            "reason": self._reason or "",
            "release_at": (
                f"{self._req.business_date(self._release_at)}" if self._release_at else ""
            ),
            "invoice_list": (
                self._invoice_list().model_dump(mode="json") if self._notified_at else None
            ),
            "invoice_due": f"{self._invoice_due_at:%Y-%m-%d}" if self._invoice_due_at else "",
            "invoiced": str(self._invoiced),
            "remaining": str(self._amount - self._invoiced),
            "invoices": [i.model_dump(mode="json") for i in self._invoices],
            "decided_by": self._decided_by or "",
            "payment_reference": self._payment_reference or "",
            "deadline": "",
        }

    def _invoice_list(self) -> InvoiceListItem:
        partner = present(self._partner, "the partner")
        return InvoiceListItem(
            payout_id=self._id,
            amount=self._amount,
            buyer_title=self._req.vendor_invoice_title,
            buyer_tax_id=self._req.vendor_tax_id,
            seller_name=partner.company_name,
            seller_tax_id=partner.uscc,
        )

    def _view(self) -> PayoutView:
        return PayoutView(
            workflow_id=self._id,
            partner_id=self._req.partner_id,
            period=self._req.period,
            status=self._status,
            reason=self._reason,
            amount=self._statement.payable if self._statement is not None else None,
            statement=self._statement,
            method=self._method,
            applied_by=self._applied_by,
            applied_at=self._applied_at,
            release_at=self._release_at,
            invoice_list=self._invoice_list() if self._notified_at else None,
            notified_at=self._notified_at,
            invoice_due_at=self._invoice_due_at,
            invoices=list(self._invoices),
            invoiced=self._invoiced,
            remaining=(self._amount - self._invoiced) if self._notified_at else None,
            last_verification=self._last_verification,
            decided_by=self._decided_by,
            decided_at=self._decided_at,
            payment_reference=self._payment_reference,
            paid_at=self._paid_at,
        )
