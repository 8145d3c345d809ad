"""Cases: ``partnerflow list`` and ``partnerflow case``, on the services the console's
``/cases`` pages and the JSON API call (``starter/services/cases.py``, ``case_view.py``)."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.parties import Actor, Role
from starter.cli.output import console, emit
from starter.cli.runner import JSON_HELP, run_async
from starter.services.case_view import CaseView, case
from starter.services.cases import CaseFilters, CaseNotFoundError, Page, list_cases
from starter.services.context import AppContext, operator
from starter.services.errors import BadInputError

Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
AsUser = Annotated[
    str | None, typer.Option("--as", help="Only what this user may see (its scope).")
]


async def viewer(ctx: AppContext, as_user: str | None) -> Actor:
    """``--as USER``, else the operator at the terminal, who sees every case (as ops)."""
    if as_user:
        return await ctx.actor(as_user)
    return Actor(user_id=operator() or "cli", role=Role.OPS)


def register(app: typer.Typer) -> None:
    """Adds ``list`` and ``case``."""

    @app.command("list")
    def list_(
        type_: Annotated[
            str | None, typer.Option("--type", help="Workflow type, e.g. InvitationWorkflow.")
        ] = None,
        status: Annotated[
            str | None, typer.Option(help="Business status, e.g. PENDING, ACCEPTED, EXPIRED.")
        ] = None,
        partner: Annotated[str | None, typer.Option(help="Partner id.")] = None,
        customer: Annotated[str | None, typer.Option(help="Customer id.")] = None,
        overdue: Annotated[
            bool, typer.Option("--overdue", help="Only cases with an overdue open task.")
        ] = False,
        started_from: Annotated[
            str | None,
            typer.Option("--from", help="Started on or after this day (YYYY-MM-DD, UTC)."),
        ] = None,
        started_to: Annotated[
            str | None,
            typer.Option("--to", help="Started on or before this day (YYYY-MM-DD, UTC)."),
        ] = None,
        sort: Annotated[
            str, typer.Option(help="started, type, status, partner, customer or due; -x descends.")
        ] = "-started",
        page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
        limit: Annotated[int, typer.Option(min=1, max=500, help="Rows per page.")] = 50,
        as_user: Annotated[
            str | None, typer.Option("--as", help="Only the cases this user may see.")
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Cases (one per workflow), from the database as the console lists them: filters,
        sorting and pages; without --as, every case (the operator's view)."""

        async def body(ctx: AppContext) -> None:
            actor = await viewer(ctx, as_user)
            filters = CaseFilters.model_validate(
                {
                    "type": type_,
                    "status": status,
                    "partner": partner,
                    "customer": customer,
                    "overdue": overdue,
                    "started_from": started_from,
                    "started_to": started_to,
                    "sort": sort,
                    "page": page,
                    "per_page": limit,
                }
            )
            found = await list_cases(ctx, actor, filters)
            emit(found.model_dump(mode="json"), as_json, lambda: _print_list(found))

        run_async(as_json, body)

    @app.command("case")
    def case_(
        workflow_id: Annotated[str, typer.Argument(help="A workflow id, e.g. invitation-P-C.")],
        as_user: AsUser = None,
        as_json: Json = False,
    ) -> None:
        """One case as its console page shows it: status, people, what it waits for, and the
        timeline of business events, emails and timers ahead."""

        async def body(ctx: AppContext) -> None:
            try:
                view = await case(ctx, await viewer(ctx, as_user), workflow_id)
            except CaseNotFoundError:
                raise BadInputError(
                    f"no case {workflow_id!r}" + (f" for {as_user}" if as_user else ""),
                    rule="not_found",
                ) from None
            emit(view.model_dump(mode="json"), as_json, lambda: _print_case(view))

        run_async(as_json, body)


def _print_list(found: Page) -> None:
    if not found.items:
        console.print("no cases match")
    for r in found.items:
        due = (
            f"due {r.due_at:%Y-%m-%d %H:%M}" + (" OVERDUE" if r.overdue else "") if r.due_at else ""
        )
        console.print(
            f"{r.workflow_id:<44} {r.type:<30} {r.status:<18} {r.started_at:%Y-%m-%d} {due}",
            markup=False,
        )
    if found.pages > 1:
        console.print(f"page {found.page} of {found.pages} ({found.total} cases)", markup=False)


def _print_case(v: CaseView) -> None:
    console.print(f"[bold]{v.workflow_id}[/] ({v.type}) {v.status}", highlight=False)
    for p in v.people:
        console.print(f"  {p.relation.lower()}: {p.name or p.id} ({p.id})", markup=False)
    for w in v.waiting_for:
        who = w.assignee or w.queue
        due = f", due {w.due_at:%Y-%m-%d %H:%M} UTC" if w.due_at else ""
        late = " OVERDUE" if w.overdue else ""
        console.print(
            f"  waiting for: {who}, since {w.since:%Y-%m-%d %H:%M} UTC{due}{late}", markup=False
        )
    for e in v.timeline:
        what = e.title
        if e.kind == "event":
            what = f"{e.title} by {e.actor}" + (f": {e.detail}" if e.detail else "")
        elif e.kind == "email":
            what = f"{e.email_state} {e.to}: {e.title}" + (f" ({e.reason})" if e.reason else "")
        elif e.detail:
            what = f"{e.title}: {e.detail}"
        console.print(f"  {e.at:%Y-%m-%d %H:%M} {e.kind:<6} {what}", markup=False)
    if v.temporal_url:
        console.print(f"  Temporal UI: {v.temporal_url}", markup=False)
