"""Big-order renewals: ``import subscriptions``, ``renewals scan|list``,
``renewal claim|feedback|cancel`` and ``authorization request|approve|cancel|revoke``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer
from sqlalchemy import select

from domain.authorizations import (
    AuthorizationView,
)
from domain.parties import Decision
from domain.renewals import (
    RenewalOutcome,
    RenewalStatus,
    RenewalView,
)
from infra.tables import RenewalTask
from starter.cli.output import console, emit
from starter.cli.runner import JSON_HELP, run_async
from starter.imports.renewals import SUBSCRIPTIONS
from starter.services.commands import cli_input
from starter.services.commands_cases import FeedbackInput, renewal_feedback
from starter.services.commands_start import AuthorizationRequestInput, authorization_request
from starter.services.context import AppContext, operator
from starter.services.errors import BadInputError
from starter.services.renewals import (
    _task_dict,
    _task_row,
    authorization_update,
    list_filter,
    parse_as_of,
    renewal_update,
    run_scan,
    signal_extended_orders,
)

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


# ----- import subscriptions ----------------------------------------------------------------


# ----- renewals ----------------------------------------------------------------------------


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


# ----- authorizations ----------------------------------------------------------------------


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
    from starter.services.core import AFTER_IMPORT

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
            # The console's feedback form validates with the same model.
            i = cli_input(
                FeedbackInput,
                workflow_id=task,
                outcome=outcome,
                reason=reason,
                accept_letter=accept_letter,
            )
            view = (await renewal_feedback(ctx, await ctx.actor(as_user), i)).result
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
            i = cli_input(
                AuthorizationRequestInput,
                partner=partner,
                customer=customer,
                accept_letter=accept_letter,
                purpose=purpose,
            )
            view = (await authorization_request(ctx, await ctx.actor(as_user), i)).result
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
