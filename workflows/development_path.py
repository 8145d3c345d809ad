"""The vendor invites a partner to a development path; the partner joins, asks for
certification levels checked against the path's thresholds, and may leave before role
certification."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from domain.text import N_

with workflow.unsafe.imports_passed_through():
    from activities.onboarding import DevelopmentPathActivities, OnboardingActivities
    from domain.certification import (
        LEVELS,
        PATH_FINAL,
        CertificationAsk,
        CertificationRecord,
        CertLevel,
        PathContext,
        PathInvitation,
        PathStatus,
        PathView,
        Shortfall,
        company_path_refusal,
        describe_shortfalls,
        leave_problem,
        level_problem,
        shortfalls,
    )
    from domain.errors import (
        IneligibleError,
        InvalidInputError,
        InvalidStateError,
        PermissionDeniedError,
    )
    from domain.onboarding_models import (
        JoinPath,
        LoadFacts,
        LoadPathContext,
        Recipients,
        RecordCertification,
        RoleRecipients,
        UpdateMembership,
    )
    from domain.parties import Actor, Decision, PartnerStatus, Role

from workflows.common import (
    ACTIVITY_TIMEOUT,
    RETRY,
    audit,
    link,
    open_task,
    run_key,
    send_email,
    set_business_status,
    verify_actor,
)
from workflows.common import (
    fmt_utc as _fmt,
)
from workflows.common import (
    wait_until as _wait,
)
from workflows.guard import DecisionLock, bound, present
from workflows.steps import Entry, StateWrite, event, task_closed, task_opened, write_step

S = PathStatus
PATH_TITLES = {"software": "Software Partner Path", "service": "Service Partner Path"}
JOIN_APPROVAL = "join_approval"


@workflow.defn
class DevelopmentPathWorkflow:
    """One partner on one path (id ``path-{partner}-{path}``): invitation, membership and
    certifications. Ends when the partner leaves, every level is certified, or it is refused."""

    @workflow.init
    def __init__(self, req: PathInvitation) -> None:
        self._req = req
        self._status = S.CHECKING
        self._reason: str | None = None
        self._ctx: PathContext | None = None
        self._expires_at: datetime | None = None
        self._others: list[str] = []
        self._certified: list[CertLevel] = []
        self._requests: list[CertificationRecord] = []
        self._request_keys: list[str] = []
        self._pending: str | None = None  # JOIN_APPROVAL or certification:<level>
        self._pending_key: str | None = None  # the manager task now open
        self._last_key: str | None = None  # the manager task decided last
        self._joined_at: datetime | None = None
        self._left_at: datetime | None = None
        self._guard = DecisionLock(req.decision_timeout)
        self._decisions: dict[str, str] = {}  # step key -> the update that decided it
        self._link_steps: dict[str, str] = {}  # link nonce -> step key it was sent for
        self._open_tasks: set[str] = set()

    @workflow.run
    async def run(self, req: PathInvitation) -> PathView:
        """Invites, waits for the join or expiry, then serves the membership until it ends."""
        rk = run_key()
        ctx = await workflow.execute_activity_method(
            DevelopmentPathActivities.load_path_context,
            LoadPathContext(partner_id=req.partner_id, path=req.path),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        self._ctx = ctx
        self._others = ctx.company.others_on_path if ctx.company else []
        refusal = self._invitation_refusal(ctx)
        if refusal is not None:
            # Refused at creation: nothing is recorded, nobody is emailed.
            self._status = S.REFUSED
            self._reason = refusal
            set_business_status(self._status.value)
            # A starter's `checked` update may be waiting on this status: let it answer before
            # the run completes (no command: stored histories replay unchanged).
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self._view()
        assert ctx.partner is not None and ctx.admin_user_id is not None
        expires_at = workflow.now() + req.validity
        async with self._guard.turn(bounded=False):
            self._status = S.INVITED
            self._expires_at = expires_at
            await write_step(
                task_opened(
                    f"{rk}:join",
                    "path_join",
                    f"Join the {PATH_TITLES[req.path.value]}",
                    Role.PARTNER_ADMIN,
                    req.partner_id,
                    expires_at,
                ),
                event(
                    f"{rk}:invited",
                    "invited",
                    req.invited_by.user_id,
                    f"{req.path.value} path, valid until {_fmt(expires_at)}",
                ),
            )
            self._open_tasks.add(f"{rk}:join")
            join = link("join_url", "join", ctx.admin_user_id, expires_at, task_key=f"{rk}:join")
            await send_email(
                f"{rk}:invitation",
                ctx.partner.contact_email,
                "path_invitation",
                self._mail(expires_at=_fmt(expires_at)),
                [join],
            )
            set_business_status(self._status.value)

        if not await _wait(lambda: self._status != S.INVITED, expires_at):
            async with self._guard.turn(bounded=False):
                if self._status == S.INVITED:
                    self._status = S.EXPIRED
                    self._reason = N_("the partner did not join before the invitation expired")
                    await write_step(
                        task_closed(f"{rk}:join", "expired", decision="expired"),
                        event(f"{rk}:expired", "expired", "system", self._reason),
                    )
                    self._open_tasks.discard(f"{rk}:join")
                    await send_email(
                        f"{rk}:expired",
                        ctx.partner.contact_email,
                        "path_invitation_expired",
                        self._mail(),
                    )
        await workflow.wait_condition(lambda: self._status in PATH_FINAL)
        await workflow.wait_condition(workflow.all_handlers_finished)
        async with self._guard.turn(bounded=False):
            await write_step(
                *(
                    task_closed(key, "cancelled", decision=self._status.value.lower())
                    for key in sorted(self._open_tasks)
                )
            )
            self._open_tasks.clear()
        set_business_status(self._status.value)
        return self._view()

    # ----- the partner ----------------------------------------------------------------------

    @workflow.update
    async def join(self, d: Decision) -> PathView:
        """The partner chooses the path (company rules re-checked against the database)."""
        await verify_actor(d.actor, d.operator)
        self._validate_join(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status != S.INVITED:
                return self._view()
            rk = run_key()
            outcome = await workflow.execute_activity_method(
                DevelopmentPathActivities.join_path,
                JoinPath(
                    key=f"{rk}:membership",
                    workflow_id=workflow.info().workflow_id,
                    partner_id=self._req.partner_id,
                    path=self._req.path,
                    at=workflow.now(),
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=bound(),
                retry_policy=RETRY,
            )
            self._others = outcome.others_on_path
            self._decisions[f"{rk}:join"] = "join"
            self._open_tasks.discard(f"{rk}:join")
            closed = task_closed(
                f"{rk}:join", "done", decision=outcome.status, decided_by=d.actor.user_id
            )
            if outcome.status == "refused":

                def refused() -> None:
                    self._status = S.REFUSED
                    self._reason = outcome.reason

                await write_step(
                    closed,
                    refused,
                    event(f"{rk}:join", "join_refused", d.actor.user_id, outcome.reason or ""),
                )
                await self._mail_partner(f"{rk}:refused", "path_refused")
            elif outcome.status == "pending_approval":

                def awaiting() -> None:
                    self._status = S.AWAITING_JOIN_APPROVAL

                await write_step(
                    closed,
                    awaiting,
                    event(
                        f"{rk}:join",
                        "join_requested",
                        d.actor.user_id,
                        f"company account(s) {', '.join(self._others)} already follow the path",
                    ),
                )
                await self._open_manager_step(
                    f"{rk}:join-approval",
                    JOIN_APPROVAL,
                    f"Approve {self._partner_name()} choosing the {PATH_TITLES[self._path]} "
                    f"again (company accounts {', '.join(self._others)} follow it)",
                )
            else:

                def joined() -> None:
                    self._status = S.JOINED
                    self._joined_at = workflow.now()

                await write_step(closed, joined, event(f"{rk}:join", "joined", d.actor.user_id))
                await self._mail_partner(f"{rk}:joined", "path_joined")
            set_business_status(self._status.value)
            return self._view()

    @join.validator
    def _validate_join(self, d: Decision) -> None:
        self._check_partner_admin(d.actor, "join the path")
        if self._decisions.get(f"{run_key()}:join") == "join":
            return  # repeated: the handler returns the current state
        if self._status == S.EXPIRED and self._expires_at is not None:
            raise InvalidStateError(
                f"this invitation expired on {_fmt(self._expires_at)}; ask the ecosystem manager "
                "to invite the partner again"
            ).to_application_error()
        if self._status != S.INVITED:
            raise self._state_error("join")

    @workflow.update
    async def request_certification(self, ask: CertificationAsk) -> PathView:
        """Asks for a level: checked against the thresholds with fresh facts; when met, the
        ecosystem manager approves; when not, refused with what is missing."""
        await verify_actor(ask.actor)
        self._validate_request(ask)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status != S.JOINED or self._pending is not None:
                return self._view()
            rk = run_key()
            missing = await self._shortfalls(ask.level)
            if missing:
                n = len(self._request_keys) + 1
                await audit(
                    f"{rk}:refused:{n}:{ask.level.value}",
                    "certification_refused",
                    ask.actor.user_id,
                    describe_shortfalls(missing),
                )
                raise IneligibleError(
                    f"{ask.level.value} certification on the {self._path} path is refused: "
                    f"{describe_shortfalls(missing)}",
                    rule="certification_threshold_not_met",
                ).to_application_error()
            key = f"{rk}:certification:{len(self._request_keys) + 1}"
            self._request_keys.append(key)
            record = CertificationRecord(
                level=ask.level,
                status="pending",
                requested_by=ask.actor.user_id,
                requested_at=workflow.now(),
            )
            self._requests.append(record)
            await write_step(
                self._certification(key, record),
                event(key, "certification_requested", ask.actor.user_id, ask.level.value),
            )
            await self._open_manager_step(
                key,
                f"certification:{ask.level.value}",
                f"Approve {ask.level.value} certification of {self._partner_name()} on the "
                f"{PATH_TITLES[self._path]} (threshold met)",
            )
            return self._view()

    @request_certification.validator
    def _validate_request(self, ask: CertificationAsk) -> None:
        self._check_partner_admin(ask.actor, "request a certification")
        if self._status != S.JOINED:
            raise self._state_error("request a certification")
        if ask.level in self._certified:
            raise InvalidStateError(
                f"{ask.level.value} certification on the {self._path} path is already granted"
            ).to_application_error()
        if self._pending is not None:
            raise InvalidStateError(
                f"a request ({self._pending}) awaits the ecosystem manager; wait for its decision"
            ).to_application_error()
        order = level_problem(self._req.path, ask.level, set(self._certified))
        if order is not None:
            raise IneligibleError(order.message, rule=order.rule).to_application_error()

    @workflow.update
    async def leave(self, d: Decision) -> PathView:
        """The partner leaves the path (only before role certification)."""
        await verify_actor(d.actor, d.operator)
        self._validate_leave(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            if self._status not in (S.JOINED, S.AWAITING_JOIN_APPROVAL):
                return self._view()
            rk = run_key()
            if self._pending_key is not None:
                await write_step(
                    *self._manager_step_closed("cancelled", "withdrawn", d, "the partner left")
                )
            await self._update_membership("left", d.actor.user_id)
            self._status = S.LEFT
            self._left_at = workflow.now()
            self._reason = d.comment or f"left by {d.actor.user_id}"
            await audit(f"{rk}:left", "left", d.actor.user_id, d.comment or "")
            await self._mail_partner(f"{rk}:left", "path_left")
            return self._view()

    @leave.validator
    def _validate_leave(self, d: Decision) -> None:
        self._check_partner_admin(d.actor, "leave the path")
        if self._status == S.LEFT:
            return  # repeated
        problem = leave_problem(self._certified)
        if problem is not None:
            raise InvalidStateError(problem).to_application_error()
        if self._status not in (S.JOINED, S.AWAITING_JOIN_APPROVAL):
            raise self._state_error("leave")

    # ----- the ecosystem manager ------------------------------------------------------------

    @workflow.update
    async def approve(self, d: Decision) -> PathView:
        """Approves what awaits the manager: a second software-path account of the company, or
        a certification (its threshold re-checked now)."""
        await verify_actor(d.actor, d.operator)
        self._validate_approve(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            key, pending = self._pending_key, self._pending
            if key is None or pending is None or key in self._decisions:
                return self._view()
            rk = run_key()
            if pending == JOIN_APPROVAL:
                await write_step(
                    self._membership("joined", d.actor.user_id),
                    *self._manager_step_closed("done", "approved", d),
                )
                self._status = S.JOINED
                self._joined_at = workflow.now()
                await self._mail_partner(f"{rk}:joined", "path_joined")
                set_business_status(self._status.value)
                return self._view()
            record = self._requests[-1]
            missing = await self._shortfalls(record.level)
            if missing:
                raise IneligibleError(
                    f"the threshold is no longer met: {describe_shortfalls(missing)}; "
                    "reject the request with that reason, or wait until ops records the facts",
                    rule="certification_threshold_not_met",
                ).to_application_error()
            closed = self._manager_step_closed("done", "approved", d)
            record.status = "certified"
            record.decided_by = d.actor.user_id
            record.decided_at = workflow.now()
            record.reason = d.comment
            await write_step(*closed, self._certification(key, record))
            self._certified.append(record.level)
            await self._mail_partner(f"{key}:certified", "path_certified", level=record.level.value)
            if all(level in self._certified for level in LEVELS[self._req.path]):
                await self._update_membership("completed", d.actor.user_id)
                self._status = S.COMPLETED
            set_business_status(self._status.value)
            return self._view()

    @approve.validator
    def _validate_approve(self, d: Decision) -> None:
        self._check_manager(d, "approve", "approve")

    @workflow.update
    async def reject(self, d: Decision) -> PathView:
        """Refuses what awaits the manager, with a reason."""
        await verify_actor(d.actor, d.operator)
        self._validate_reject(d)  # again: the state may have moved while we looked the actor up
        async with self._guard.turn():
            key, pending = self._pending_key, self._pending
            if key is None or pending is None or key in self._decisions:
                return self._view()
            rk = run_key()
            closed = self._manager_step_closed("done", "rejected", d)
            if pending == JOIN_APPROVAL:
                await write_step(*closed, self._membership("rejected", d.actor.user_id))
                self._status = S.REFUSED
                self._reason = (
                    f"the ecosystem manager did not approve the {self._path} path for a "
                    f"further account of the company: {d.comment}"
                )
                await self._mail_partner(f"{rk}:refused", "path_refused")
            else:
                record = self._requests[-1]
                record.status = "rejected"
                record.decided_by = d.actor.user_id
                record.decided_at = workflow.now()
                record.reason = d.comment
                await write_step(*closed, self._certification(key, record))
                await self._mail_partner(
                    f"{key}:rejected",
                    "path_certification_rejected",
                    level=record.level.value,
                    reason=d.comment or "",
                )
            set_business_status(self._status.value)
            return self._view()

    @reject.validator
    def _validate_reject(self, d: Decision) -> None:
        self._check_manager(d, "reject", "reject")
        if self._pending_key is not None and not (d.comment or "").strip():
            raise InvalidInputError(
                "a rejection needs a reason (the partner is told it): give --reason"
            ).to_application_error()

    @workflow.update
    async def checked(self) -> PathView:
        """The membership once the first checks are done (invited or refused): what a starter
        waits for right after starting (update-with-start), instead of polling ``status``."""
        await workflow.wait_condition(lambda: self._status != S.CHECKING)
        return self._view()

    @workflow.query
    def status(self) -> PathView:
        """The membership as it stands."""
        return self._view()

    # ----- internals ------------------------------------------------------------------------

    @property
    def _path(self) -> str:
        return self._req.path.value

    def _partner_name(self) -> str:
        ctx = self._ctx
        return ctx.partner.company_name if ctx and ctx.partner else self._req.partner_id

    def _invitation_refusal(self, ctx: PathContext) -> str | None:
        inviter = self._req.invited_by
        if inviter.role not in (Role.OPS, Role.ECOSYSTEM_MANAGER):
            return (
                f"{inviter.describe()} may not invite partners to a development path; "
                "the vendor's ecosystem manager or ops invites"
            )
        if ctx.partner is None:
            return f"partner {self._req.partner_id} does not exist"
        if ctx.partner.status != PartnerStatus.ACTIVE:
            return (
                f"partner {ctx.partner.id} is {ctx.partner.status.value}; development paths "
                "follow onboarding, so only ACTIVE partners are invited"
            )
        if ctx.admin_user_id is None:
            return (
                f"partner {ctx.partner.id} has no active admin user to accept the invitation; "
                "create its partner_admin user first"
            )
        return company_path_refusal(self._req.path, self._others)

    def _check_partner_admin(self, actor: Actor, what: str) -> None:
        if not (actor.role == Role.PARTNER_ADMIN and actor.partner_id == self._req.partner_id):
            raise PermissionDeniedError(
                f"only an admin of partner {self._req.partner_id} may {what}, "
                f"not {actor.describe()}"
            ).to_application_error()

    def _check_manager(self, d: Decision, update: str, what: str) -> None:
        if d.actor.role != Role.ECOSYSTEM_MANAGER:
            raise PermissionDeniedError(
                f"only an ecosystem manager may {what} on a development path, "
                f"not {d.actor.describe()}"
            ).to_application_error()
        key = self._pending_key
        sent_for = self._link_steps.get(d.nonce or "")
        if sent_for is not None and sent_for not in (key, self._last_key):
            raise InvalidStateError(
                "this link belongs to an earlier request that is already decided; "
                "use the link of the latest email"
            ).to_application_error()
        if key is None and self._decisions.get(self._last_key or "") == update:
            return  # repeated: the handler returns the first result
        if key is None:
            raise InvalidStateError(
                f"nothing awaits the ecosystem manager on this path ({self._status.value})"
            ).to_application_error()

    def _state_error(self, what: str) -> Exception:
        hint = {
            S.CHECKING: "the invitation is still being checked; try again in a moment",
            S.INVITED: "the partner has not joined the path yet",
            S.AWAITING_JOIN_APPROVAL: "joining awaits the ecosystem manager's approval",
            S.JOINED: "the partner is on the path",
        }.get(self._status, f"the path membership is {self._status.value.lower()}")
        return InvalidStateError(f"cannot {what}: {hint}").to_application_error()

    async def _shortfalls(self, level: CertLevel) -> list[Shortfall]:
        facts = await workflow.execute_activity_method(
            DevelopmentPathActivities.load_path_facts,
            LoadFacts(partner_id=self._req.partner_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        return shortfalls(
            self._req.path,
            level,
            facts,
            self._req.thresholds,
            workflow.now().date(),
            set(self._certified),
        )

    async def _open_manager_step(self, key: str, pending: str, title: str) -> None:
        due = self._req.calendar.add_working_days(workflow.now(), self._req.approval_working_days)
        self._pending, self._pending_key = pending, key
        await open_task(key, "path_approval", title, Role.ECOSYSTEM_MANAGER, None, due)
        self._open_tasks.add(key)
        people: Recipients = await workflow.execute_activity_method(
            OnboardingActivities.role_recipients,
            RoleRecipients(role=Role.ECOSYSTEM_MANAGER),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=bound(),
            retry_policy=RETRY,
        )
        for person in people.people:
            links = [
                link("approve_url", "approve", person.user_id, None, task_key=key),
                link("reject_url", "reject", person.user_id, None, task_key=key),
            ]
            for spec in links:
                self._link_steps[spec.nonce] = key
            await send_email(
                f"{key}:requested:{person.user_id}",
                person.email,
                "path_manager_task",
                self._mail(
                    what=title,
                    # The step, so that the email can say it in the reader's language.
                    decision=pending,
                    due_at=_fmt(due),
                    recipient_name=person.name,
                ),
                links,
            )

    def _manager_step_closed(
        self, status: str, decision: str, d: Decision, comment: str | None = None
    ) -> list[Entry]:
        """The manager's step decided: its task closed, its event, and a withdrawn request's
        row; the step is no longer pending."""
        key = present(self._pending_key, "the pending manager step")
        self._open_tasks.discard(key)
        self._decisions[key] = {"approved": "approve", "rejected": "reject"}.get(decision, decision)
        entries: list[Entry] = [
            task_closed(
                key,
                status,
                decision=decision,
                comment=comment or d.comment,
                decided_by=d.actor.user_id,
            ),
            event(
                f"{key}:decided", f"{self._pending}:{decision}", d.actor.user_id, d.comment or ""
            ),
        ]
        if status == "cancelled" and self._pending != JOIN_APPROVAL and self._requests:
            record = self._requests[-1]
            record.status = "withdrawn"
            record.decided_by = d.actor.user_id
            record.decided_at = workflow.now()
            entries.append(self._certification(key, record))
        self._last_key = key
        self._pending = None
        self._pending_key = None
        return entries

    def _certification(
        self, key: str, record: CertificationRecord
    ) -> StateWrite[RecordCertification]:
        """The certification request's row as ``record`` stands."""
        return StateWrite(
            DevelopmentPathActivities.record_certification,
            RecordCertification(
                key=key,
                workflow_id=workflow.info().workflow_id,
                partner_id=self._req.partner_id,
                path=self._req.path,
                level=record.level.value,
                status=record.status,
                requested_by=record.requested_by,
                requested_at=record.requested_at,
                decided_by=record.decided_by,
                decided_at=record.decided_at,
                reason=record.reason,
            ),
        )

    async def _update_membership(self, status: str, by: str) -> None:
        await write_step(self._membership(status, by))

    def _membership(self, status: str, by: str) -> StateWrite[UpdateMembership]:
        """The membership row set to ``status``."""
        return StateWrite(
            DevelopmentPathActivities.update_membership,
            UpdateMembership(
                key=f"{run_key()}:membership", status=status, at=workflow.now(), decided_by=by
            ),
        )

    async def _mail_partner(self, key: str, template: str, **extra: object) -> None:
        partner = present(present(self._ctx, "the path context").partner, "the partner")
        await send_email(key, partner.contact_email, template, self._mail(**extra))

    def _mail(self, **extra: object) -> dict[str, object]:
        base: dict[str, object] = {
            "workflow_id": workflow.info().workflow_id,
            "partner_id": self._req.partner_id,
            "partner_name": self._partner_name(),
            "path": self._path,
            "path_title": PATH_TITLES[self._path],
            "admin_user_id": (self._ctx.admin_user_id if self._ctx else None) or "",
            "reason": self._reason or "",
            "others_on_path": self._others,
            "certified": [lv.value for lv in self._certified],
            "levels": [lv.value for lv in LEVELS[self._req.path]],
        }
        base.update(extra)
        return base

    def _view(self) -> PathView:
        return PathView(
            workflow_id=workflow.info().workflow_id,
            partner_id=self._req.partner_id,
            path=self._req.path,
            status=self._status,
            expires_at=self._expires_at,
            reason=self._reason,
            others_on_path=self._others,
            pending_step=self._pending,
            certified=list(self._certified),
            requests=[r.model_copy() for r in self._requests],
            joined_at=self._joined_at,
            left_at=self._left_at,
        )
