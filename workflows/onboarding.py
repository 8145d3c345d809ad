"""A company applies to become a partner: business-info certification with a bank
micro-deposit, the ecosystem manager's review, the agreements, the final approval."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.onboarding import OnboardingActivities
    from domain.errors import InvalidInputError, InvalidStateError, PermissionDeniedError
    from domain.onboarding import (
        AGREEMENT_TITLES,
        FINAL_STATUSES,
        Agreement,
        AmountEntry,
        BusinessInfo,
        ExistingPartner,
        OnboardingRequest,
        OnboardingStatus,
        OnboardingView,
        applicant_party,
        business_info_problems,
        mask_account,
    )
    from domain.onboarding_models import (
        ActivatePartner,
        CheckAmount,
        LoadOnboardingContext,
        Recipients,
        RecordApplication,
        RecordBusinessInfo,
        RecordSignature,
        ReleaseApplicant,
        RoleRecipients,
        StartDeposit,
        UnlockBank,
    )
    from domain.parties import Actor, Decision, Role
    from domain.tasks import OpenTask

from workflows.common import (
    ACTIVITY_TIMEOUT,
    RETRY,
    audit,
    fmt_utc,
    link,
    open_task,
    reassign_task,
    run_key,
    send_email,
    set_business_status,
    verify_actor,
    wait_until,
)
from workflows.guard import DecisionLock, bound, present
from workflows.steps import Entry, StateWrite, event, task_closed, task_opened, write_step

S = OnboardingStatus
# The steps at which the workflow itself (not an update handler) has work to do.
DRIVEN = frozenset({S.IN_REVIEW, S.AWAITING_SIGNATURES, S.AWAITING_APPROVAL})
STEP_NAMES = {"review": "business-information review", "approval": "final approval"}


@workflow.defn
class OnboardingWorkflow:
    """One application of one company (id ``onboarding-{uscc}``), from submission to an ACTIVE
    partner, or to its rejection, withdrawal or expiry."""

    @workflow.init
    def __init__(self, req: OnboardingRequest) -> None:
        self._req = req
        self._status = S.SUBMITTED
        self._reason: str | None = None
        self._existing: list[ExistingPartner] = []
        self._company_name = req.form.company_name
        # Serialises decisions with the timers' reminders, escalations and expiry.
        self._guard = DecisionLock(req.decision_timeout)
        self._info_round = 0  # business-information submissions
        self._info: BusinessInfo | None = None
        self._verification_key: str | None = None
        self._verified_account: tuple[str, str, str] | None = None  # bank, account, holder
        self._wrong_entries = 0
        self._entries = 0
        self._unlocks = 0
        self._business_certified = False
        self._review_round = 0
        self._step_key: str | None = None  # the manager task now open
        self._review_due: datetime | None = None
        self._approval_due: datetime | None = None
        self._escalated = False
        self._signatures: dict[Agreement, str] = {}
        self._signatures_due: datetime | None = None
        self._partner_id: str | None = None
        self._admin_user_id: str | None = None
        self._decided_by: str | None = None
        self._decided_at: datetime | None = None
        self._decisions: dict[str, str] = {}  # task key -> the update that decided it
        self._link_steps: dict[str, str] = {}  # link nonce -> the task key it was sent for
        self._open_tasks: dict[str, str] = {}  # task key -> kind, closed at the end
        self._applicant_task: str | None = None

    @workflow.run
    async def run(self, req: OnboardingRequest) -> OnboardingView:
        """Drives the steps that wait on time; people's actions arrive as updates."""
        rk = run_key()
        ctx = await workflow.execute_activity_method(
            OnboardingActivities.load_onboarding_context,
            LoadOnboardingContext(uscc=req.form.uscc),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._existing = ctx.existing_partners
        # Under the lock: an early update waits until the application row and task exist.
        async with self._guard.turn(bounded=False):
            self._status = S.AWAITING_BUSINESS_INFO
            await write_step(
                self._application(),
                event(
                    f"{rk}:submitted",
                    "submitted",
                    req.submitted_by.user_id,
                    f"{req.form.company_name} ({req.form.uscc}) as {req.form.partner_type.value}"
                    + (
                        "; the company already has partner account(s) "
                        + ", ".join(p.id for p in self._existing)
                        if self._existing
                        else ""
                    ),
                ),
            )
            await send_email(
                f"{rk}:received", req.form.contact_email, "onboarding_received", self._mail()
            )
            await self._open_applicant_task(
                f"{rk}:business-info:1",
                "onboarding_business_info",
                "Submit business information for certification",
            )
            set_business_status(self._status.value)

        while True:
            await workflow.wait_condition(
                lambda: self._status in DRIVEN or self._status in FINAL_STATUSES
            )
            if self._status in FINAL_STATUSES:
                break
            if self._status == S.IN_REVIEW:
                self._review_round += 1
                await self._manager_step("review", f"{rk}:review:{self._review_round}")
            elif self._status == S.AWAITING_SIGNATURES:
                await self._signature_window(rk)
            elif self._status == S.AWAITING_APPROVAL:
                await self._manager_step("approval", f"{rk}:approval")

        await self._finish(rk)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    # ----- the applicant ------------------------------------------------------------------

    @workflow.update
    async def submit_business_info(self, info: BusinessInfo) -> OnboardingView:
        """Company, tax and bank information; a new bank account gets a new micro-deposit."""
        await verify_actor(info.actor)
        self._validate_business_info(
            info
        )  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status not in (
                S.AWAITING_BUSINESS_INFO,
                S.AWAITING_AMOUNT,
                S.CHANGES_REQUESTED,
            ):
                return self._view()
            rk = run_key()
            self._info_round += 1
            n = self._info_round
            self._info = info
            self._company_name = info.company_name
            self._reason = None  # the review's earlier reason is answered by this submission
            await write_step(
                StateWrite(
                    OnboardingActivities.record_business_info,
                    RecordBusinessInfo(
                        application_key=rk,
                        company_name=info.company_name,
                        tax_id=info.tax_id,
                        registered_address=info.registered_address,
                        bank_name=info.bank_name,
                        bank_account=info.bank_account,
                        account_holder=info.account_holder,
                        at=workflow.now(),
                    ),
                ),
                event(
                    f"{rk}:business-info:{n}",
                    "business_info_submitted",
                    info.actor.user_id,
                    f"bank account {mask_account(info.bank_account)} at {info.bank_name}",
                ),
                *self._applicant_task_closed("done", "submitted", info.actor.user_id),
            )
            account = (info.bank_name, info.bank_account, info.account_holder)
            if self._verified_account == account:
                # Resubmitted after a rejection with the already verified account.
                self._status = S.IN_REVIEW
                set_business_status(self._status.value)
                return self._view()
            self._verified_account = None
            key = f"{rk}:bank:{n}"
            ref = await workflow.execute_activity_method(
                OnboardingActivities.start_bank_deposit,
                StartDeposit(
                    key=key,
                    application_key=rk,
                    bank_name=info.bank_name,
                    bank_account=info.bank_account,
                    account_holder=info.account_holder,
                    at=workflow.now(),
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            self._verification_key = key
            self._wrong_entries = 0
            self._status = S.AWAITING_AMOUNT
            await self._open_applicant_task(
                f"{rk}:amount:{n}",
                "onboarding_bank_amount",
                "Enter the amount deposited into your bank account",
            )
            await send_email(
                f"{rk}:deposit:{n}",
                self._req.form.contact_email,
                "onboarding_deposit_made",
                self._mail(bank_account=ref.masked_account, bank_name=info.bank_name),
            )
            set_business_status(self._status.value)
            return self._view()

    @submit_business_info.validator
    def _validate_business_info(self, info: BusinessInfo) -> None:
        self._check_applicant(info.actor, "submit business information")
        if self._status == S.BANK_LOCKED:
            raise InvalidStateError(
                "bank verification is locked after too many wrong entries; ask ops to unlock it"
            ).to_application_error()
        if self._status not in (S.AWAITING_BUSINESS_INFO, S.AWAITING_AMOUNT, S.CHANGES_REQUESTED):
            raise self._state_error("submit business information")
        problems = business_info_problems(info, self._req.form)
        if problems:
            raise InvalidInputError("; ".join(problems)).to_application_error()

    @workflow.update
    async def enter_amount(self, entry: AmountEntry) -> OnboardingView:
        """The amount found on the bank statement; three wrong entries lock the certification."""
        await verify_actor(entry.actor)
        self._validate_amount(entry)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status != S.AWAITING_AMOUNT or self._verification_key is None:
                return self._view()
            rk = run_key()
            self._entries += 1
            check = await workflow.execute_activity_method(
                OnboardingActivities.check_bank_amount,
                CheckAmount(
                    key=f"{rk}:entry:{self._entries}",
                    verification_key=self._verification_key,
                    amount=entry.amount,
                    entered_by=entry.actor.user_id,
                    at=workflow.now(),
                    max_wrong_entries=self._req.timing.bank_max_wrong_entries,
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            self._wrong_entries = check.wrong_entries
            if check.matched:
                info = present(self._info, "the business information")
                self._verified_account = (
                    info.bank_name,
                    info.bank_account,
                    info.account_holder,
                )
                await write_step(
                    *self._applicant_task_closed("done", "verified", entry.actor.user_id),
                    event(f"{rk}:entry:{self._entries}", "bank_verified", entry.actor.user_id),
                )
                self._status = S.IN_REVIEW
            elif check.locked:
                unlock_key = f"{rk}:unlock:{self._unlocks + 1}"

                def locked() -> None:
                    self._status = S.BANK_LOCKED
                    self._unlocks += 1

                await write_step(
                    *self._applicant_task_closed("cancelled", "locked", entry.actor.user_id),
                    event(
                        f"{rk}:entry:{self._entries}",
                        "bank_locked",
                        entry.actor.user_id,
                        f"{check.wrong_entries} wrong entries",
                    ),
                    locked,
                    task_opened(
                        unlock_key,
                        "onboarding_bank_unlock",
                        f"Unlock bank verification of {self._company_name}",
                        Role.OPS,
                        None,
                        None,
                    ),
                )
                self._open_tasks[unlock_key] = "onboarding_bank_unlock"
                mail = self._mail(wrong_entries=check.wrong_entries)
                await send_email(
                    f"{unlock_key}:applicant",
                    self._req.form.contact_email,
                    "onboarding_bank_locked",
                    mail,
                )
                await self._email_role(
                    Role.OPS,
                    f"{unlock_key}:ops",
                    "onboarding_bank_locked_ops",
                    mail,
                    [("unlock_url", "unlock")],
                    unlock_key,
                )
            else:
                await audit(
                    f"{rk}:entry:{self._entries}",
                    "bank_amount_wrong",
                    entry.actor.user_id,
                    f"wrong entry {check.wrong_entries} of "
                    f"{self._req.timing.bank_max_wrong_entries}",
                )
            set_business_status(self._status.value)
            return self._view()

    @enter_amount.validator
    def _validate_amount(self, entry: AmountEntry) -> None:
        self._check_applicant(entry.actor, "enter the deposited amount")
        if self._status == S.BANK_LOCKED:
            raise InvalidStateError(
                f"bank verification is locked after {self._wrong_entries} wrong entries; "
                "ask ops to unlock it (partnerflow onboarding unlock)"
            ).to_application_error()
        if self._status != S.AWAITING_AMOUNT:
            raise self._state_error("enter the deposited amount")

    @workflow.update
    async def unlock(self, d: Decision) -> OnboardingView:
        """Ops unlocks a locked bank verification; the partner may enter the amount again."""
        await verify_actor(d.actor, d.operator)
        self._validate_unlock(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            key = f"{run_key()}:unlock:{self._unlocks}"
            if self._status != S.BANK_LOCKED or self._verification_key is None:
                return self._view()
            await workflow.execute_activity_method(
                OnboardingActivities.unlock_bank,
                UnlockBank(
                    verification_key=self._verification_key,
                    by=d.actor.user_id,
                    at=workflow.now(),
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            await write_step(
                task_closed(
                    key, "done", decision="unlocked", comment=d.comment, decided_by=d.actor.user_id
                ),
                event(key, "bank_unlocked", d.actor.user_id, d.comment or ""),
                self._applicant_task_opened(
                    f"{key}:amount",
                    "onboarding_bank_amount",
                    "Enter the amount deposited into your bank account",
                ),
            )
            self._open_tasks.pop(key, None)
            self._decisions[key] = "unlock"
            self._wrong_entries = 0
            self._status = S.AWAITING_AMOUNT
            await send_email(
                f"{key}:applicant",
                self._req.form.contact_email,
                "onboarding_bank_unlocked",
                self._mail(),
            )
            set_business_status(self._status.value)
            return self._view()

    @unlock.validator
    def _validate_unlock(self, d: Decision) -> None:
        if d.actor.role != Role.OPS:
            raise PermissionDeniedError(
                f"only ops may unlock a bank verification, not {d.actor.describe()}"
            ).to_application_error()
        key = f"{run_key()}:unlock:{self._unlocks}"
        if self._status != S.BANK_LOCKED and self._decisions.get(key) != "unlock":
            raise self._state_error("unlock the bank verification")

    @workflow.update
    async def sign_partner_agreement(self, d: Decision) -> OnboardingView:
        """The applicant signs the partner agreement."""
        await verify_actor(d.actor, d.operator)
        self._validate_sign_partner(
            d
        )  # again: the state may have moved while we looked the actor up
        return await self._sign(Agreement.PARTNER_AGREEMENT, d)

    @sign_partner_agreement.validator
    def _validate_sign_partner(self, d: Decision) -> None:
        self._check_sign(Agreement.PARTNER_AGREEMENT, d)

    @workflow.update
    async def sign_integrity_commitment(self, d: Decision) -> OnboardingView:
        """The applicant signs the integrity commitment (廉洁诚信承诺书)."""
        await verify_actor(d.actor, d.operator)
        self._validate_sign_integrity(
            d
        )  # again: the state may have moved while we looked the actor up
        return await self._sign(Agreement.INTEGRITY_COMMITMENT, d)

    @sign_integrity_commitment.validator
    def _validate_sign_integrity(self, d: Decision) -> None:
        self._check_sign(Agreement.INTEGRITY_COMMITMENT, d)

    @workflow.update
    async def withdraw(self, d: Decision) -> OnboardingView:
        """The applicant (or ops for it) withdraws the pending application."""
        await verify_actor(d.actor, d.operator)
        self._validate_withdraw(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status in FINAL_STATUSES:
                return self._view()
            self._status = S.WITHDRAWN
            self._reason = d.comment or f"withdrawn by {d.actor.user_id}"
            self._decided_by = d.actor.user_id
            self._decided_at = workflow.now()
            return self._view()

    @withdraw.validator
    def _validate_withdraw(self, d: Decision) -> None:
        if d.actor.role != Role.OPS:
            self._check_applicant(d.actor, "withdraw the application")
        if self._status == S.WITHDRAWN:
            return
        if self._status in FINAL_STATUSES:
            raise self._state_error("withdraw")

    # ----- the ecosystem manager ----------------------------------------------------------

    @workflow.update
    async def review_approve(self, d: Decision) -> OnboardingView:
        """The business information is certified; the agreements come next."""
        await verify_actor(d.actor, d.operator)
        self._validate_review_approve(
            d
        )  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            key = self._step_key
            if self._status != S.IN_REVIEW or key is None or key in self._decisions:
                return self._view()

            def certified() -> None:
                self._business_certified = True
                self._status = S.AWAITING_SIGNATURES

            await write_step(
                *self._decided(key, "review_approve", "approved", d),
                certified,
                self._application(S.AWAITING_SIGNATURES, business_certified_at=workflow.now()),
            )
            set_business_status(self._status.value)
            return self._view()

    @review_approve.validator
    def _validate_review_approve(self, d: Decision) -> None:
        self._check_manager_step(d, S.IN_REVIEW, "review_approve", "approve the review")

    @workflow.update
    async def review_reject(self, d: Decision) -> OnboardingView:
        """The review refuses the business information with a reason; the partner edits and
        resubmits."""
        await verify_actor(d.actor, d.operator)
        self._validate_review_reject(
            d
        )  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            key = self._step_key
            if self._status != S.IN_REVIEW or key is None or key in self._decisions:
                return self._view()

            def changes_requested() -> None:
                self._status = S.CHANGES_REQUESTED
                self._reason = d.comment

            await write_step(
                *self._decided(key, "review_reject", "rejected", d),
                changes_requested,
                self._application(S.CHANGES_REQUESTED, reason=d.comment),
                self._applicant_task_opened(
                    f"{key}:resubmit",
                    "onboarding_resubmit",
                    "Edit and resubmit the business information",
                ),
            )
            await send_email(
                f"{key}:changes",
                self._req.form.contact_email,
                "onboarding_changes_requested",
                self._mail(),
            )
            set_business_status(self._status.value)
            return self._view()

    @review_reject.validator
    def _validate_review_reject(self, d: Decision) -> None:
        self._check_manager_step(d, S.IN_REVIEW, "review_reject", "reject the review")
        self._check_reason(d)

    @workflow.update
    async def approve(self, d: Decision) -> OnboardingView:
        """Final approval: the partner becomes ACTIVE and its admin user is created."""
        await verify_actor(d.actor, d.operator)
        self._validate_approve(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            key = self._step_key
            if self._status != S.AWAITING_APPROVAL or key is None or key in self._decisions:
                return self._view()
            activation = await workflow.execute_activity_method(
                OnboardingActivities.activate_partner,
                ActivatePartner(
                    application_key=run_key(), at=workflow.now(), decided_by=d.actor.user_id
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            self._partner_id = activation.partner_id
            self._admin_user_id = activation.admin_user_id
            await write_step(*self._decided(key, "approve", "approved", d))
            self._status = S.APPROVED
            self._decided_by = d.actor.user_id
            self._decided_at = workflow.now()
            return self._view()

    @approve.validator
    def _validate_approve(self, d: Decision) -> None:
        self._check_manager_step(d, S.AWAITING_APPROVAL, "approve", "approve the application")

    @workflow.update
    async def reject(self, d: Decision) -> OnboardingView:
        """Final rejection with a reason."""
        await verify_actor(d.actor, d.operator)
        self._validate_reject(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            key = self._step_key
            if self._status != S.AWAITING_APPROVAL or key is None or key in self._decisions:
                return self._view()
            await write_step(*self._decided(key, "reject", "rejected", d))
            self._status = S.REJECTED
            self._reason = d.comment
            self._decided_by = d.actor.user_id
            self._decided_at = workflow.now()
            return self._view()

    @reject.validator
    def _validate_reject(self, d: Decision) -> None:
        self._check_manager_step(d, S.AWAITING_APPROVAL, "reject", "reject the application")
        self._check_reason(d)

    @workflow.update
    async def checked(self) -> OnboardingView:
        """The application once it is registered (past SUBMITTED): what a starter waits for
        right after starting (update-with-start), instead of polling the status query."""
        await workflow.wait_condition(lambda: self._status != S.SUBMITTED)
        return self._view()

    @workflow.query
    def status(self) -> OnboardingView:
        """The application as it stands."""
        return self._view()

    # ----- steps driven by time -----------------------------------------------------------

    async def _manager_step(self, step: str, key: str) -> None:
        """A task for the ecosystem manager due in N working days; a reminder at due; at due
        plus the escalation delay the task moves to ops. Returns once it is decided."""
        waiting_in = self._status
        timing = self._req.timing
        due = timing.calendar.add_working_days(workflow.now(), timing.review_working_days)
        if step == "review":
            self._review_due = due
        else:
            self._approval_due = due
        self._step_key = key
        self._escalated = False
        flag = (
            f" (the company already has partner account(s) "
            f"{', '.join(p.id for p in self._existing)})"
            if self._existing
            else ""
        )
        kind = f"onboarding_{step}"
        actions = self._step_actions(step)
        mail = self._mail(step=STEP_NAMES[step], due_at=fmt_utc(due))
        # Under the lock: a decision waits until its task exists.
        async with self._guard.turn(bounded=False):
            await open_task(
                key,
                kind,
                f"{STEP_NAMES[step].capitalize()}: {self._company_name}{flag}",
                Role.ECOSYSTEM_MANAGER,
                None,
                due,
            )
            self._open_tasks[key] = kind
            await self._email_role(
                Role.ECOSYSTEM_MANAGER,
                f"{key}:requested",
                "onboarding_manager_task",
                mail,
                actions,
                key,
            )

        def moved_on() -> bool:
            # The status, not the decision record: a handler sets the next status last, and
            # the loop must not see IN_REVIEW again before it has.
            return self._status != waiting_in

        if not await wait_until(moved_on, due):
            async with self._guard.turn(bounded=False):
                if not moved_on():
                    await self._email_role(
                        Role.ECOSYSTEM_MANAGER,
                        f"{key}:reminder",
                        "onboarding_manager_reminder",
                        mail,
                        actions,
                        key,
                    )
                    await audit(f"{key}:reminder", "reminder_sent", "system", STEP_NAMES[step])
            if not await wait_until(moved_on, due + timing.escalate_after):
                async with self._guard.turn(bounded=False):
                    if not moved_on():
                        await reassign_task(
                            key,
                            Role.OPS,
                            None,
                            f"not decided by the ecosystem manager by {fmt_utc(due)}: escalated",
                        )
                        self._escalated = True
                        await self._email_role(
                            Role.OPS, f"{key}:escalated", "onboarding_escalated", mail, actions, key
                        )
                        await audit(
                            f"{key}:escalated",
                            "escalated",
                            "system",
                            f"{STEP_NAMES[step]} escalated to ops",
                        )
                await workflow.wait_condition(moved_on)

    async def _signature_window(self, rk: str) -> None:
        """The agreements window: reminders, then expiry if anything is unsigned."""
        timing = self._req.timing
        start = workflow.now()
        due = start + timing.agreement_window
        self._signatures_due = due
        key = f"{rk}:sign"
        async with self._guard.turn(bounded=False):
            await self._open_applicant_task(
                key,
                "onboarding_sign",
                "Sign the partner agreement and the integrity commitment",
                due,
            )
            await self._send_sign_mail(f"{key}:request", "onboarding_sign_agreements", key, due)

        def moved_on() -> bool:
            return self._status != S.AWAITING_SIGNATURES

        for n, after in enumerate(sorted(timing.agreement_reminders), start=1):
            remind_at = start + after
            if remind_at >= due or remind_at <= workflow.now():
                continue
            if not await wait_until(moved_on, remind_at):
                async with self._guard.turn(bounded=False):
                    if not moved_on():
                        await self._send_sign_mail(
                            f"{key}:reminder:{n}", "onboarding_sign_reminder", key, due
                        )
                        await audit(
                            f"{key}:reminder:{n}",
                            "reminder_sent",
                            "system",
                            f"agreements, day {after.days}",
                        )
        if not await wait_until(moved_on, due):
            async with self._guard.turn(bounded=False):
                if not moved_on():
                    self._status = S.EXPIRED
                    self._reason = (
                        f"the agreements were not signed within {timing.agreement_window.days} days"
                    )
                    await self._close_applicant_task("expired", "expired", None)

    # ----- internals ----------------------------------------------------------------------

    async def _sign(self, agreement: Agreement, d: Decision) -> OnboardingView:
        async with self._guard.turn():
            if self._status != S.AWAITING_SIGNATURES or agreement in self._signatures:
                return self._view()
            rk = run_key()
            signed = StateWrite(
                OnboardingActivities.record_signature,
                RecordSignature(
                    application_key=rk,
                    agreement=agreement,
                    signed_by=d.actor.user_id,
                    at=workflow.now(),
                ),
            )
            logged = event(
                f"{rk}:signed:{agreement.value}",
                "signed",
                d.actor.user_id,
                AGREEMENT_TITLES[agreement],
            )
            all_signed = len(self._signatures) + 1 == len(Agreement)
            closed = (
                self._applicant_task_closed("done", "signed", d.actor.user_id) if all_signed else []
            )
            await write_step(signed, logged, *closed)
            self._signatures[agreement] = d.actor.user_id
            if all_signed:
                self._status = S.AWAITING_APPROVAL
                set_business_status(self._status.value)
            return self._view()

    def _check_sign(self, agreement: Agreement, d: Decision) -> None:
        self._check_applicant(d.actor, f"sign the {AGREEMENT_TITLES[agreement]}")
        if agreement in self._signatures:
            return  # repeated: the handler returns the current state
        if self._status != S.AWAITING_SIGNATURES:
            raise self._state_error(f"sign the {AGREEMENT_TITLES[agreement]}")

    def _decided(self, key: str, update: str, decision: str, d: Decision) -> list[Entry]:
        """The manager's task closed with the decision, and its event; marks it decided."""
        self._open_tasks.pop(key, None)
        self._decisions[key] = update
        return [
            task_closed(
                key, "done", decision=decision, comment=d.comment, decided_by=d.actor.user_id
            ),
            event(f"{key}:decided", update, d.actor.user_id, d.comment or ""),
        ]

    def _check_manager_step(self, d: Decision, status: S, update: str, what: str) -> None:
        actor = d.actor
        if actor.role != Role.ECOSYSTEM_MANAGER and not (
            actor.role == Role.OPS and self._escalated
        ):
            raise PermissionDeniedError(
                f"only an ecosystem manager may {what} (ops too once the task is escalated), "
                f"not {actor.describe()}"
            ).to_application_error()
        key = self._step_key
        sent_for = self._link_steps.get(d.nonce or "")
        if sent_for is not None and sent_for != key:
            raise InvalidStateError(
                "this link belongs to an earlier step that is already decided; "
                "use the link of the latest email"
            ).to_application_error()
        if key is not None and self._decisions.get(key) == update:
            return  # repeated: the handler returns the first result
        if self._status != status or key is None or key in self._decisions:
            raise self._state_error(what)

    def _check_reason(self, d: Decision) -> None:
        if not (d.comment or "").strip():
            raise InvalidInputError(
                "a rejection needs a reason (the partner is told it): give --reason"
            ).to_application_error()

    def _check_applicant(self, actor: Actor, what: str) -> None:
        applicant = self._req.submitted_by
        if actor.user_id != applicant.user_id or actor.role != applicant.role:
            raise PermissionDeniedError(
                f"only the applicant {applicant.user_id} may {what}, not {actor.describe()}"
            ).to_application_error()

    def _state_error(self, what: str) -> Exception:
        hint = {
            S.SUBMITTED: "the application is still being registered; try again in a moment",
            S.AWAITING_BUSINESS_INFO: "business information has not been submitted yet",
            S.AWAITING_AMOUNT: "the bank deposit awaits the amount entered by the applicant",
            S.BANK_LOCKED: "bank verification is locked; ops must unlock it",
            S.IN_REVIEW: "the business information is in review by the ecosystem manager",
            S.CHANGES_REQUESTED: "the review asked the applicant to edit and resubmit",
            S.AWAITING_SIGNATURES: "the agreements await the applicant's signatures",
            S.AWAITING_APPROVAL: "the application awaits the final approval",
        }.get(self._status, f"the application is {self._status.value.lower()}")
        return InvalidStateError(f"cannot {what}: {hint}").to_application_error()

    def _step_actions(self, step: str) -> list[tuple[str, str]]:
        if step == "review":
            return [("approve_url", "review_approve"), ("reject_url", "review_reject")]
        return [("approve_url", "approve"), ("reject_url", "reject")]

    async def _email_role(
        self,
        role: Role,
        key: str,
        template: str,
        context: dict[str, object],
        actions: list[tuple[str, str]],
        step_key: str,
    ) -> None:
        """One email per person of the role, each with action links signed for that person."""
        people: Recipients = await workflow.execute_activity_method(
            OnboardingActivities.role_recipients,
            RoleRecipients(role=role),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        for person in people.people:
            links = [
                link(name, action, person.user_id, None, task_key=step_key)
                for name, action in actions
            ]
            for spec in links:
                self._link_steps[spec.nonce] = step_key
            await send_email(
                f"{key}:{person.user_id}",
                person.email,
                template,
                {**context, "recipient_name": person.name or person.user_id},
                links,
            )

    async def _send_sign_mail(self, key: str, template: str, step_key: str, due: datetime) -> None:
        actor = self._req.submitted_by.user_id
        links = []
        if Agreement.PARTNER_AGREEMENT not in self._signatures:
            links.append(
                link("sign_partner_url", "sign_partner_agreement", actor, due, task_key=step_key)
            )
        if Agreement.INTEGRITY_COMMITMENT not in self._signatures:
            links.append(
                link(
                    "sign_integrity_url", "sign_integrity_commitment", actor, due, task_key=step_key
                )
            )
        for spec in links:
            self._link_steps[spec.nonce] = step_key
        await send_email(
            key, self._req.form.contact_email, template, self._mail(due_at=fmt_utc(due)), links
        )

    async def _open_applicant_task(
        self, key: str, kind: str, title: str, due: datetime | None = None
    ) -> None:
        await write_step(self._applicant_task_opened(key, kind, title, due))

    def _applicant_task_opened(
        self, key: str, kind: str, title: str, due: datetime | None = None
    ) -> OpenTask:
        """The applicant's next task (it becomes the one ``_applicant_task_closed`` closes)."""
        role, party = applicant_party(self._req.submitted_by)
        self._open_tasks[key] = kind
        self._applicant_task = key
        return task_opened(key, kind, f"{title} ({self._company_name})", role, party, due)

    async def _close_applicant_task(self, status: str, decision: str, by: str | None) -> None:
        await write_step(*self._applicant_task_closed(status, decision, by))

    def _applicant_task_closed(self, status: str, decision: str, by: str | None) -> list[Entry]:
        """The applicant's open task closed (nothing when there is none)."""
        key = self._applicant_task
        if key is None:
            return []
        self._open_tasks.pop(key, None)
        self._applicant_task = None
        return [task_closed(key, status, decision=decision, decided_by=by)]

    async def _finish(self, rk: str) -> None:
        """Closes what is still open, records the outcome and emails the applicant."""
        task_status = "expired" if self._status == S.EXPIRED else "cancelled"
        closed: list[Entry] = [
            task_closed(
                key,
                task_status,
                decision=self._status.value.lower(),
                comment=self._reason,
                decided_by=self._decided_by,
            )
            for key in self._open_tasks
        ]
        self._open_tasks.clear()
        outcome = event(
            f"{rk}:outcome",
            self._status.value.lower(),
            self._decided_by or "system",
            self._reason
            or (
                f"partner {self._partner_id}, admin user {self._admin_user_id}"
                if self._partner_id
                else ""
            ),
        )
        if self._status == S.APPROVED:
            await write_step(*closed, self._application(), outcome)
        else:
            # The applicant's flag is released between the row and the event, as it always was.
            await write_step(*closed, self._application())
            await workflow.execute_activity_method(
                OnboardingActivities.release_applicant,
                ReleaseApplicant(application_key=rk),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            await write_step(outcome)
        template = {
            S.APPROVED: "onboarding_approved",
            S.REJECTED: "onboarding_rejected",
            S.WITHDRAWN: "onboarding_withdrawn",
            S.EXPIRED: "onboarding_expired",
        }[self._status]
        await send_email(f"{rk}:{template}", self._req.form.contact_email, template, self._mail())
        set_business_status(self._status.value)

    def _application(
        self,
        status: S | None = None,
        *,
        reason: str | None = None,
        business_certified_at: datetime | None = None,
    ) -> StateWrite[RecordApplication]:
        """The application row as the workflow stands, or with the ``status`` (and ``reason``)
        a step is about to set."""
        return StateWrite(
            OnboardingActivities.record_application,
            RecordApplication(
                run_key=run_key(),
                workflow_id=workflow.info().workflow_id,
                form=self._req.form,
                submitted_by=self._req.submitted_by,
                status=status or self._status,
                at=workflow.now(),
                reason=reason if status is not None else self._reason,
                decided_by=self._decided_by,
                decided_at=self._decided_at,
                business_certified_at=business_certified_at,
            ),
        )

    def _mail(self, **extra: object) -> dict[str, object]:
        form = self._req.form
        base: dict[str, object] = {
            "workflow_id": workflow.info().workflow_id,
            "company_name": self._company_name,
            "uscc": form.uscc,
            "partner_type": form.partner_type.value,
            "contact_name": form.contact_name or self._company_name,
            "contact_email": form.contact_email,
            "applicant": self._req.submitted_by.user_id,
            "status": self._status.value,
            "reason": self._reason or "",
            "existing_partners": [p.id for p in self._existing],
            "max_wrong_entries": self._req.timing.bank_max_wrong_entries,
            "window_days": self._req.timing.agreement_window.days,
            "partner_id": self._partner_id or "",
            "admin_user_id": self._admin_user_id or "",
        }
        base.update(extra)
        return base

    def _view(self) -> OnboardingView:
        form = self._req.form
        max_wrong = self._req.timing.bank_max_wrong_entries
        return OnboardingView(
            workflow_id=workflow.info().workflow_id,
            uscc=form.uscc,
            company_name=self._company_name,
            partner_type=form.partner_type,
            contact_email=form.contact_email,
            applicant=self._req.submitted_by.user_id,
            status=self._status,
            reason=self._reason,
            existing_partners=self._existing,
            bank_account=mask_account(self._info.bank_account) if self._info else None,
            bank_wrong_entries=self._wrong_entries,
            bank_entries_left=max_wrong - self._wrong_entries
            if self._status == S.AWAITING_AMOUNT
            else None,
            business_certified=self._business_certified,
            review_due_at=self._review_due,
            escalated=self._escalated,
            signatures=[a for a in Agreement if a in self._signatures],
            signatures_due_at=self._signatures_due,
            approval_due_at=self._approval_due,
            partner_id=self._partner_id,
            admin_user_id=self._admin_user_id,
            decided_by=self._decided_by,
            decided_at=self._decided_at,
        )
