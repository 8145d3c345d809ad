"""Big-order renewals: ``import subscriptions``, ``renewals scan|list``,
``renewal claim|feedback|cancel`` and ``authorization request|approve|cancel|revoke``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDConflictPolicy

from activities.renewals import AuthorizationActivities
from domain.authorizations import (
    AuthorizationRequest,
    AuthorizationStatus,
    AuthorizationView,
    authorization_refusals,
    authorization_workflow_id,
    requester_refusal,
)
from domain.parties import PARTNER_ROLES, Actor, AssociationMode, Decision, PartnerType, Role
from domain.renewal_models import AuthorizationContextQuery, AuthorizationLookup
from domain.renewals import (
    FINAL_STATUSES,
    RenewalFeedback,
    RenewalOutcome,
    RenewalPolicy,
    RenewalScanRequest,
    RenewalScanResult,
    RenewalStatus,
    RenewalTimings,
    RenewalView,
    SubscriptionChanged,
    SubscriptionRow,
    feedback_input_refusal,
    partner_payment_refusal,
    scan_workflow_id,
)
from domain.rules import status_rule
from infra.config import Settings
from infra.db import utcnow
from infra.tables import Customer, Partner, RenewalTask, Subscription
from infra.temporal import index_attributes
from starter.cli.output import console, emit
from starter.cli.runner import JSON_HELP, run_async
from starter.imports.base import Importer, ImportResult, RowError, duplicates, register_importer
from starter.services.context import AppContext, operator, temporal_errors, wait_for_query
from starter.services.errors import BadInputError, CliError, RefusedError
from workflows.authorization import CustomerAuthorizationWorkflow
from workflows.renewal import RenewalWorkflow
from workflows.renewal_scan import RenewalScanWorkflow

renewals_app = typer.Typer(
    help="Big-order renewal tasks: the daily scan, and the list of tasks.", no_args_is_help=True
)
renewal_app = typer.Typer(
    help="Act on one renewal task: claim it, record the customer's intention, withdraw it.",
    no_args_is_help=True,
)
authorization_app = typer.Typer(
    help="A resale customer's authorization for its partner to order on its behalf.",
    no_args_is_help=True,
)

As = Annotated[str, typer.Option("--as", help="The user acting (user id, or a customer id).")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
TaskId = Annotated[str, typer.Argument(help="Renewal task id (renewal-ORDER-YYYYMMDD).")]
AuthId = Annotated[str, typer.Argument(help="Authorization id (authorization-PARTNER-CUSTOMER).")]
CommentOpt = Annotated[
    str | None, typer.Option(help="A comment; for cancel, why (it is shown to the partner).")
]
LetterOpt = Annotated[
    bool,
    typer.Option(
        "--accept-commitment-letter",
        help="Accept the commitment letter for operating on customers' behalf (needed with "
        "the partner's first authorization request).",
    ),
]


# ----- settings -> workflow inputs ---------------------------------------------------------


def renewal_policy(s: Settings) -> RenewalPolicy:
    """The scan's selection parameters from Settings."""
    return RenewalPolicy(
        threshold=s.big_order_threshold,
        yearly_lead=s.renewal_yearly_lead,
        monthly_lead=s.renewal_monthly_lead,
    )


def renewal_timings(s: Settings) -> RenewalTimings:
    """The durations of renewal tasks and their authorizations from Settings."""
    return RenewalTimings(
        reminders_before=list(s.renewal_reminders_before),
        escalate_unclaimed_before=s.renewal_escalate_unclaimed_before,
        billing_check_interval=s.renewal_billing_check,
        authorization_validity=s.authorization_validity,
        authorization_request_window=s.authorization_request_window,
    )


def scan_request(s: Settings, as_of: datetime | None) -> RenewalScanRequest:
    """The scan's input; ``as_of`` None lets the workflow use its own clock (the schedule)."""
    return RenewalScanRequest(
        as_of=as_of,
        policy=renewal_policy(s),
        timings=renewal_timings(s),
        page_size=s.renewal_scan_page_size,
    )


# ----- import subscriptions ----------------------------------------------------------------


async def _check_subscriptions(s: AsyncSession, rows: list[SubscriptionRow]) -> list[RowError]:
    errors = duplicates(rows, lambda r: r.order_id, "order_id")
    known = set(
        (
            await s.scalars(
                select(Customer.id).where(Customer.id.in_({r.customer_id for r in rows}))
            )
        ).all()
    )
    for n, r in enumerate(rows, start=1):
        if r.customer_id not in known:
            errors.append(
                RowError(n, "customer_id", f"no customer {r.customer_id}; import customers first")
            )
    return errors


async def _write_subscriptions(
    s: AsyncSession, rows: list[SubscriptionRow], result: ImportResult
) -> None:
    ids = [r.order_id for r in rows]
    existing = {
        x.order_id: x
        for x in (await s.scalars(select(Subscription).where(Subscription.order_id.in_(ids)))).all()
    }
    now = utcnow()
    extended: dict[str, str] = {}
    for r in rows:
        values = r.model_dump()
        values["billing"] = r.billing.value
        row = existing.get(r.order_id)
        if row is None:
            s.add(Subscription(**values, updated_at=now))
            result.inserted += 1
            continue
        if r.expires_at > row.expires_at:
            # A later expiry is how a renewal shows up in the billing data.
            extended[r.order_id] = row.expires_at.isoformat()
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = now
        result.updated += 1
    result.extra["expiry_extended"] = extended


SUBSCRIPTIONS = register_importer(
    Importer(
        "subscriptions",
        SubscriptionRow,
        _write_subscriptions,
        _check_subscriptions,
        help="Yearly/monthly orders: order_id, customer_id, product, amount, billing, "
        "expires_at (with time zone), auto_renew. A later expiry completes its renewal task.",
    )
)


async def signal_extended_orders(ctx: AppContext, result: ImportResult) -> None:
    """After the commit: renewal tasks of orders whose expiry moved later look at billing now.

    Best effort: if Temporal is unreachable, each task's daily billing check finds it anyway.
    """
    extended: dict[str, str] = result.extra.get("expiry_extended", {})
    if not extended:
        return
    async with ctx.sessions() as s:
        tasks = (
            await s.scalars(
                select(RenewalTask).where(
                    RenewalTask.order_id.in_(list(extended)),
                    RenewalTask.status.not_in([st.value for st in FINAL_STATUSES]),
                    RenewalTask.workflow_started.is_(True),
                )
            )
        ).all()
        subs = {
            x.order_id: x
            for x in (
                await s.scalars(
                    select(Subscription).where(Subscription.order_id.in_(list(extended)))
                )
            ).all()
        }
    if not tasks:
        return
    try:
        client = await ctx.client()
    except CliError as exc:
        result.notes.append(f"{exc.message}: the daily billing check will see the renewals")
        return
    for task in tasks:
        sub = subs[task.order_id]
        try:
            async with temporal_errors("signal renewal"):
                await client.get_workflow_handle(task.workflow_id).signal(
                    RenewalWorkflow.subscription_changed,
                    SubscriptionChanged(
                        order_id=sub.order_id, expires_at=sub.expires_at, auto_renew=sub.auto_renew
                    ),
                )
        except CliError as exc:
            result.notes.append(f"renewal task {task.workflow_id}: {exc.message}")
            continue
        result.notes.append(
            f"order {sub.order_id} now expires {sub.expires_at:%Y-%m-%d}: "
            f"renewal task {task.workflow_id} told"
        )


# ----- renewals ----------------------------------------------------------------------------


def parse_as_of(value: str | None) -> datetime:
    """``--as-of YYYY-MM-DD`` as the start of that day (UTC), or now."""
    if value is None:
        return utcnow()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"--as-of: {value!r} is not a date like 2027-03-01") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def run_scan(ctx: AppContext, as_of: datetime) -> RenewalScanResult:
    """Runs the scan of ``as_of``'s day and waits for its counts (joins a running one)."""
    client = await ctx.client()
    async with temporal_errors("renewals scan"):
        result: RenewalScanResult = await client.execute_workflow(
            RenewalScanWorkflow.run,
            scan_request(ctx.settings, as_of),
            id=scan_workflow_id(as_of),
            task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    return result


async def _task_row(ctx: AppContext, task_id: str) -> RenewalTask:
    async with ctx.sessions() as s:
        row = await s.scalar(select(RenewalTask).where(RenewalTask.workflow_id == task_id))
    if row is None:
        raise BadInputError(f"TASK: no renewal task {task_id!r}; see `partnerflow renewals list`")
    return row


async def renewal_update(
    ctx: AppContext, task_id: str, update: str, payload: Decision | RenewalFeedback, nonce: str
) -> RenewalView:
    """Runs a renewal update; after the workflow ended, says how it ended instead."""
    client = await ctx.client()
    handle = client.get_workflow_handle_for(RenewalWorkflow.run, task_id)
    try:
        async with temporal_errors(f"renewal {update}"):
            view: RenewalView = await handle.execute_update(
                update, payload, id=nonce, result_type=RenewalView
            )
            return view
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        row = await _task_row(ctx, task_id)
        raise RefusedError(
            f"renewal task {task_id} is {row.status.lower()}"
            + (f" ({row.reason})" if row.reason else "")
            + "; nothing to do",
            rule=status_rule("renewal", row.status),
        ) from None


async def feedback_precheck(ctx: AppContext, task_id: str, fb: RenewalFeedback) -> None:
    """The workflow's rules, run first so that a refusal is immediate and exact."""
    problem = feedback_input_refusal(fb)
    if problem is not None:
        raise BadInputError(f"--reason: {problem}")
    row = await _task_row(ctx, task_id)
    if fb.outcome != RenewalOutcome.PARTNER_PAYS:
        return
    async with ctx.sessions() as s:
        partner = await s.get(Partner, row.partner_id)
    if partner is None:
        raise BadInputError(f"partner {row.partner_id} of task {task_id} does not exist")
    refusal = partner_payment_refusal(
        PartnerType(partner.type), AssociationMode(row.mode), row.partner_id, row.customer_id
    )
    if refusal is not None:
        raise RefusedError(refusal, rule="partner_payment")


def _print_renewal(v: RenewalView) -> None:
    console.print(
        f"[bold]{v.workflow_id}[/]: {v.status.value}" + (" (escalated)" if v.escalated else "")
    )
    console.print(
        f"  order {v.order_id} ({v.product}), {v.amount} CNY {v.billing.value}, expires "
        f"{v.expires_at:%Y-%m-%d %H:%M} UTC",
        markup=False,
    )
    console.print(
        f"  customer {v.customer_id} ({v.mode.value}) of partner {v.partner_id}", markup=False
    )
    if v.claimed_by:
        console.print(f"  claimed by {v.claimed_by}", markup=False)
    if v.outcome:
        console.print(
            f"  feedback {v.outcome.value}" + (f": {v.reason}" if v.reason else ""), markup=False
        )
    if v.authorization_workflow_id:
        console.print(
            f"  authorization {v.authorization_workflow_id}: {v.authorization_status or 'requested'}",
            markup=False,
        )
    if v.note:
        console.print(f"  {v.note}", markup=False)


def _task_dict(t: RenewalTask) -> dict[str, Any]:
    return {
        "workflow_id": t.workflow_id,
        "order_id": t.order_id,
        "customer_id": t.customer_id,
        "partner_id": t.partner_id,
        "product": t.product,
        "amount": t.amount,
        "billing": t.billing,
        "mode": t.mode,
        "expires_at": t.expires_at,
        "status": t.status,
        "escalated": t.escalated,
        "claimed_by": t.claimed_by,
        "outcome": t.outcome,
        "reason": t.reason,
        "renewed_until": t.renewed_until,
    }


def _print_tasks(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no renewal tasks")
    for r in rows:
        flag = " escalated" if r["escalated"] else ""
        who = f" claimed by {r['claimed_by']}" if r["claimed_by"] else ""
        console.print(
            f"{r['workflow_id']:<36} {r['status']:<22} {r['amount']:>12} {r['billing']:<8} "
            f"expires {r['expires_at']:%Y-%m-%d}  {r['partner_id']}/{r['customer_id']}{who}{flag}",
            markup=False,
        )


def list_filter(actor: Actor) -> Any:
    """Which tasks a user sees: staff their partner's unclaimed and own, admin all of its
    partner's, vendor staff everything."""
    if actor.role in PARTNER_ROLES:
        cond = RenewalTask.partner_id == actor.partner_id
        if actor.role == Role.PARTNER_STAFF:
            cond = cond & or_(
                RenewalTask.claimed_by.is_(None), RenewalTask.claimed_by == actor.user_id
            )
        return cond
    if actor.role == Role.CUSTOMER:
        raise RefusedError(
            "renewal tasks are the partner's work list; a customer has none", rule="not_partner"
        )
    return True


# ----- authorizations ----------------------------------------------------------------------


async def request_authorization(ctx: AppContext, req: AuthorizationRequest) -> AuthorizationView:
    """Pre-checks, reuses an approved unexpired authorization, or starts (or joins) a request."""
    acts = AuthorizationActivities(ctx.sessions)
    actx = await acts.load_authorization_context(
        AuthorizationContextQuery(partner_id=req.partner_id, customer_id=req.customer_id)
    )
    if actx.partner is None:
        raise BadInputError(f"--partner: no partner with id {req.partner_id!r}")
    if actx.customer is None:
        raise BadInputError(f"--customer: no customer with id {req.customer_id!r}")
    refusal = requester_refusal(req.requested_by, actx.partner)
    refusals = [refusal] if refusal else authorization_refusals(actx, req.accept_commitment_letter)
    if refusals:
        raise RefusedError(
            "; ".join(r.message for r in refusals),
            rule=refusals[0].rule,
            details=refusals,
        )
    client = await ctx.client()
    found = await acts.find_authorization(
        AuthorizationLookup(partner_id=req.partner_id, customer_id=req.customer_id, at=utcnow())
    )
    existing = found.reusable or found.pending
    wf_id = (
        existing.workflow_id
        if existing
        else authorization_workflow_id(req.partner_id, req.customer_id)
    )
    if existing is None:
        async with temporal_errors("authorization request"):
            await client.start_workflow(
                CustomerAuthorizationWorkflow.run,
                req,
                id=wf_id,
                task_queue=ctx.settings.task_queue,
                # A request already running (a renewal's) is joined, not duplicated.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=index_attributes(
                    partner_id=req.partner_id, customer_id=req.customer_id
                ),
            )
    handle = client.get_workflow_handle(wf_id)
    raw = await wait_for_query(
        handle, "status", lambda v: bool(v) and v.get("status") != AuthorizationStatus.CHECKING
    )
    if raw is None:
        raise RefusedError(
            f"authorization {wf_id} was started but no worker answered; is the worker running?",
            rule="no_worker",
        )
    view = AuthorizationView.model_validate(raw)
    if view.status == AuthorizationStatus.REFUSED:
        raise RefusedError(view.reason or "refused", rule="authorization_refused", details=view)
    return view


async def authorization_update(
    ctx: AppContext, auth_id: str, update: str, actor: Actor, comment: str | None
) -> AuthorizationView:
    """Runs approve / cancel / revoke; after the workflow ended, says how it ended."""
    client = await ctx.client()
    handle = client.get_workflow_handle(auth_id)
    try:
        async with temporal_errors(f"authorization {update}"):
            view: AuthorizationView = await handle.execute_update(
                update,
                Decision(operator=operator(), actor=actor, comment=comment),
                id=f"{update}-{uuid.uuid4()}",
                result_type=AuthorizationView,
            )
            return view
    except RefusedError as exc:
        if exc.rule not in ("workflow_finished", "workflow_not_running"):
            raise
        from infra.tables import CustomerAuthorization

        async with ctx.sessions() as s:
            row = await s.scalar(
                select(CustomerAuthorization)
                .where(CustomerAuthorization.workflow_id == auth_id)
                .order_by(CustomerAuthorization.id.desc())
            )
        if row is None:
            raise BadInputError(f"AUTHORIZATION: no authorization {auth_id!r}") from None
        raise RefusedError(
            f"authorization {auth_id} is {row.status.lower()}"
            + (f" ({row.reason})" if row.reason else ""),
            rule=status_rule("authorization", row.status),
        ) from None


def _print_authorization(v: AuthorizationView) -> None:
    console.print(f"[bold]{v.workflow_id}[/]: {v.status.value}")
    console.print(f"  partner {v.partner_id} -> customer {v.customer_id}", markup=False)
    if v.distributor_id:
        by = f" (approved by {v.distributor_approved_by})" if v.distributor_approved_by else ""
        console.print(f"  distributor {v.distributor_id}{by}", markup=False)
    if v.deadline_at and v.status.value.startswith("AWAITING"):
        console.print(f"  answer due {v.deadline_at:%Y-%m-%d %H:%M} UTC", markup=False)
    if v.valid_until:
        console.print(f"  valid until {v.valid_until:%Y-%m-%d %H:%M} UTC", markup=False)
    if v.reason:
        console.print(f"  reason: {v.reason}", markup=False)


# ----- commands ----------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Adds the renewal and authorization commands to the CLI."""
    from starter.cli.core import AFTER_IMPORT

    AFTER_IMPORT[SUBSCRIPTIONS.kind] = signal_extended_orders

    @renewals_app.command("scan")
    def scan(
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Scan as of this day (YYYY-MM-DD, UTC); default now."),
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Find big orders near expiry (auto-renew off, amount >= the threshold, expiry within
        the yearly/monthly lead window, customer bound) and start one renewal task per order
        and expiry date. Running it again the same day starts nothing new."""

        async def body(ctx: AppContext) -> None:
            result = await run_scan(ctx, parse_as_of(as_of))
            emit(
                result,
                as_json,
                f"scan as of {result.as_of:%Y-%m-%d %H:%M} UTC: {result.scanned} orders read, "
                f"{result.candidates} need a task, {result.started} started, "
                f"{result.already_existing} already existed",
            )

        run_async(as_json, body)

    @renewals_app.command("list")
    def list_(
        partner: Annotated[str | None, typer.Option(help="Only this partner's tasks.")] = None,
        status: Annotated[
            str | None, typer.Option(help="Only this status, e.g. OPEN, CLAIMED, RENEWED, LOST.")
        ] = None,
        as_user: Annotated[
            str | None,
            typer.Option("--as", help="Only the tasks this user sees (staff: unclaimed and own)."),
        ] = None,
        limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 100,
        as_json: Json = False,
    ) -> None:
        """Renewal tasks, soonest expiry first."""

        async def body(ctx: AppContext) -> None:
            q = select(RenewalTask).order_by(RenewalTask.expires_at, RenewalTask.id)
            if partner:
                q = q.where(RenewalTask.partner_id == partner)
            if status:
                wanted = status.upper()
                if wanted not in RenewalStatus.__members__:
                    raise BadInputError(
                        f"--status: {status!r} is not one of {', '.join(RenewalStatus)}"
                    )
                q = q.where(RenewalTask.status == wanted)
            if as_user:
                q = q.where(list_filter(await ctx.actor(as_user)))
            async with ctx.sessions() as s:
                rows = [_task_dict(t) for t in (await s.scalars(q.limit(limit))).all()]
            emit(rows, as_json, lambda: _print_tasks(rows))

        run_async(as_json, body)

    @renewal_app.command("claim")
    def claim(task: TaskId, as_user: As, as_json: Json = False) -> None:
        """Take a renewal task (partner staff or admin of the customer's partner)."""

        async def body(ctx: AppContext) -> None:
            await _task_row(ctx, task)
            view = await renewal_update(
                ctx,
                task,
                "claim",
                Decision(operator=operator(), actor=await ctx.actor(as_user)),
                f"claim-{uuid.uuid4()}",
            )
            emit(view, as_json, lambda: _print_renewal(view))

        run_async(as_json, body)

    @renewal_app.command("feedback")
    def feedback(
        task: TaskId,
        outcome: Annotated[
            RenewalOutcome,
            typer.Option(help="will_renew | customer_declines (needs --reason) | partner_pays."),
        ],
        as_user: As,
        reason: Annotated[
            str | None, typer.Option(help="Why the customer declines (required for that).")
        ] = None,
        accept_letter: LetterOpt = False,
        as_json: Json = False,
    ) -> None:
        """Record the customer's intention. partner_pays follows the partner-payment rule
        (solution provider: consulting and resale customers; cloud reseller: resale only) and,
        for a resale customer, asks for its authorization (an approved one is reused)."""

        async def body(ctx: AppContext) -> None:
            fb = RenewalFeedback(
                actor=await ctx.actor(as_user),
                outcome=outcome,
                reason=reason,
                accept_commitment_letter=accept_letter,
                nonce=str(uuid.uuid4()),
            )
            await feedback_precheck(ctx, task, fb)
            view = await renewal_update(ctx, task, "feedback", fb, f"feedback-{fb.nonce}")
            emit(view, as_json, lambda: _print_renewal(view))

        run_async(as_json, body)

    @renewal_app.command("cancel")
    def cancel(
        task: TaskId,
        as_user: As,
        reason: Annotated[str, typer.Option(help="Why the task is withdrawn.")],
        as_json: Json = False,
    ) -> None:
        """Withdraw a renewal task (ops only), e.g. when the order moved to a contract."""

        async def body(ctx: AppContext) -> None:
            await _task_row(ctx, task)
            actor = await ctx.actor(as_user)
            view = await renewal_update(
                ctx,
                task,
                "cancel",
                Decision(operator=operator(), actor=actor, comment=reason),
                f"cancel-{uuid.uuid4()}",
            )
            emit(view, as_json, lambda: _print_renewal(view))

        run_async(as_json, body)

    @authorization_app.command("request")
    def request(
        partner: Annotated[str, typer.Option(help="Partner id.")],
        customer: Annotated[str, typer.Option(help="Customer id (bound to it in resale mode).")],
        as_user: As,
        accept_letter: LetterOpt = False,
        purpose: Annotated[str, typer.Option(help="What the partner will order.")] = "",
        as_json: Json = False,
    ) -> None:
        """Ask a resale customer to authorize its partner to order on its behalf (a cloud
        reseller's distributor is asked first). An approved, unexpired authorization is
        reused and a pending request joined, instead of asking again."""

        async def body(ctx: AppContext) -> None:
            s = ctx.settings
            req = AuthorizationRequest(
                partner_id=partner,
                customer_id=customer,
                requested_by=await ctx.actor(as_user),
                accept_commitment_letter=accept_letter,
                purpose=purpose,
                validity=s.authorization_validity,
                request_window=s.authorization_request_window,
            )
            view = await request_authorization(ctx, req)
            emit(view, as_json, lambda: _print_authorization(view))

        run_async(as_json, body)

    def _decision(action: str, doc: str) -> None:
        @authorization_app.command(name=action, help=doc)
        def command(
            authorization: AuthId,
            as_user: As,
            comment: CommentOpt = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                view = await authorization_update(
                    ctx, authorization, action, await ctx.actor(as_user), comment
                )
                emit(view, as_json, lambda: _print_authorization(view))

            run_async(as_json, body)

    _decision(
        "approve",
        "Approve a request (the customer; first the distributor's admin for a reseller).",
    )
    _decision(
        "cancel",
        "Say no to a request (the customer or the distributor), or withdraw it (the partner).",
    )

    @authorization_app.command("revoke")
    def revoke(
        authorization: AuthId,
        as_user: As,
        reason: Annotated[str, typer.Option(help="Why the authorization is withdrawn.")],
        as_json: Json = False,
    ) -> None:
        """Revoke an approved authorization (the customer, at any time, with a reason)."""

        async def body(ctx: AppContext) -> None:
            if not reason.strip():
                raise BadInputError("--reason: a revocation needs a reason")
            view = await authorization_update(
                ctx, authorization, "revoke", await ctx.actor(as_user), reason
            )
            emit(view, as_json, lambda: _print_authorization(view))

        run_async(as_json, body)

    app.add_typer(renewals_app, name="renewals")
    app.add_typer(renewal_app, name="renewal")
    app.add_typer(authorization_app, name="authorization")
