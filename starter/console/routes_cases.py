"""Cases: the list with filters, sorting, pages and a CSV export, and one case's page.

Both call the services the CLI and the JSON API call (``starter.services.cases`` and
``case_view``) with the signed-in actor; a case outside the actor's scope is 404, like one
that does not exist. Filters are GET parameters, so a filtered list is a link to share and
the CSV export is the same link with ``.csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from domain.parties import Actor
from infra import i18n
from infra.db import utcnow
from infra.i18n import N_
from starter.console import inbox as ib
from starter.console.web import Console, Viewer
from starter.services.case_view import case
from starter.services.cases import (
    MAX_PER_PAGE,
    SORTS,
    TYPES,
    CaseFilters,
    CaseNotFoundError,
    CaseRow,
    list_cases,
)
from starter.services.commands import action_url, actions_for
from starter.services.context import AppContext
from starter.services.errors import CliError
from starter.services.incentives import payout_show

# The GET parameters of the filter form (the fields of CaseFilters a person sets).
PARAMS = ("type", "status", "partner", "customer", "overdue", "started_from", "started_to")
CSV_COLUMNS = (
    "workflow_id",
    "type",
    "status",
    "partner_id",
    "partner_name",
    "customer_id",
    "customer_name",
    "started_at",
    "due_at",
    "overdue",
    "open_tasks",
)
# A CSV export stops here: a longer list is narrowed with the filters first.
CSV_MAX_ROWS = 50_000


def relative(at: datetime, now: datetime, locale: str) -> str:
    """``in 2 days``, ``in 5 h``, ``in 10 min`` for a time ahead; empty for the past."""
    left = at - now
    if left <= timedelta(0):
        return ""
    if left < timedelta(hours=1):
        text, count = N_("in %(count)s min"), max(1, int(left.total_seconds() // 60))
    elif left < timedelta(days=2):
        text, count = N_("in %(count)s h"), int(left.total_seconds() // 3600)
    else:
        # whole days, as the inbox's "due in N days" counts them
        text, count = N_("in %(count)s days"), left.days
    return i18n.gettext(locale, text) % {"count": count}


def filters_from(request: Request, viewer: Viewer) -> tuple[CaseFilters, dict[str, str]]:
    """The filters of the query string (days in the reader's zone), and the raw values for
    the form; invalid values raise ValidationError."""
    q = request.query_params
    raw = {k: q.get(k, "") for k in (*PARAMS, "sort", "page", "per_page")}
    values: dict[str, Any] = {k: v for k, v in raw.items() if v != ""}
    values["overdue"] = q.get("overdue") in ("1", "on", "true", "yes")
    values["timezone"] = i18n.zone_for(viewer.locale, viewer.timezone).key
    return CaseFilters.model_validate(values), raw


def query_of(raw: dict[str, str], **changes: Any) -> str:
    """The query string of the list with ``changes`` (empty values left out)."""
    merged = {**raw, **{k: str(v) for k, v in changes.items()}}
    return urlencode({k: v for k, v in merged.items() if v not in ("", None)})


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Field name -> message for the filter form."""
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "form"
        out.setdefault(name, str(err["msg"]).removeprefix("Value error, "))
    return out


def cell(text: str | None) -> str:
    """A free-text cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def csv_download(
    ctx: AppContext, actor: Actor, filters: CaseFilters, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """Every case of the list as it is shown, from the first page (the filters' page is
    ignored), at most CSV_MAX_ROWS, as a CSV attachment; ``headers`` are added."""
    rows: list[CaseRow] = []
    wanted = filters.model_copy(update={"page": 1, "per_page": MAX_PER_PAGE})
    while len(rows) < CSV_MAX_ROWS:
        got = await list_cases(ctx, actor, wanted)
        rows.extend(got.items)
        if not got.has_next:
            break
        wanted = wanted.model_copy(update={"page": wanted.page + 1})
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        csv_lines(rows[:CSV_MAX_ROWS]),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="cases-{stamp}.csv"',
            **(headers or {}),
        },
    )


def csv_lines(rows: list[CaseRow]) -> Iterator[str]:
    """The export: one header line, then one line per case (UTC times, ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for r in rows:
        yield line(
            [
                r.workflow_id,
                r.type,
                r.status,
                r.partner_id or "",
                cell(r.partner_name),
                r.customer_id or "",
                cell(r.customer_name),
                r.started_at.isoformat(),
                r.due_at.isoformat() if r.due_at else "",
                "yes" if r.overdue else "no",
                r.open_tasks,
            ]
        )


def register(app: FastAPI, c: Console) -> None:
    """Adds ``/cases``, ``/cases.csv`` and ``/cases/{workflow_id}``."""

    def list_page(request: Request, viewer: Viewer, status: int = 200, **context: Any) -> Response:
        """The list page; ``context`` is what differs between the list and its errors."""
        return c.page(
            request,
            "cases",
            viewer,
            status,
            title=N_("Cases"),
            types=TYPES,
            sorts=SORTS,
            query_of=query_of,
            **context,
        )

    @app.get("/cases")
    async def cases(request: Request) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        try:
            filters, raw = filters_from(request, viewer)
        except ValidationError as exc:
            raw = {k: request.query_params.get(k, "") for k in (*PARAMS, "sort")}
            return list_page(
                request,
                viewer,
                422,
                error=N_("Some filters need attention; the list is not shown."),
                errors=field_errors(exc),
                raw=raw,
                page=None,
                rows=[],
                sort="-started",
            )
        page = await list_cases(c.ctx, viewer.actor, filters)
        now = utcnow()
        rows = [
            (r, ib.due_text(r.due_at, now, viewer.locale, viewer.timezone)[0] if r.due_at else "")
            for r in page.items
        ]
        return list_page(
            request, viewer, errors={}, raw=raw, page=page, rows=rows, sort=filters.sort
        )

    @app.get("/cases.csv")
    async def cases_csv(request: Request) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        try:
            filters, _ = filters_from(request, viewer)
        except ValidationError as exc:
            return Response(
                "; ".join(f"{k}: {v}" for k, v in field_errors(exc).items()),
                status_code=422,
                media_type="text/plain; charset=utf-8",
            )
        return await csv_download(c.ctx, viewer.actor, filters, {"Cache-Control": "no-store"})

    @app.get("/cases/{workflow_id}")
    async def one_case(request: Request, workflow_id: str) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        try:
            view = await case(c.ctx, viewer.actor, workflow_id)
        except CaseNotFoundError:
            return c.not_found(request, viewer)
        now = utcnow()
        hints = [
            relative(e.at, now, viewer.locale) if e.kind == "timer" else "" for e in view.timeline
        ]
        waiting = [
            (w, ib.due_text(w.due_at, now, viewer.locale, viewer.timezone)[0])
            for w in view.waiting_for
        ]
        payout = None
        if view.type == "IncentivePayoutWorkflow":
            # ``partnerflow payout show``: the statement lines and invoices (lists the
            # generic facts leave out); the case's scope was checked above.
            try:
                payout = await payout_show(c.ctx, workflow_id)
            except CliError:
                payout = None
        return c.page(
            request,
            "case",
            viewer,
            payout=payout,
            title=f"{i18n.gettext(viewer.locale, view.type_label)} {view.workflow_id}",
            view=view,
            entries=list(zip(view.timeline, hints, strict=True)),
            waiting=waiting,
            # The actions this viewer may take on the case (cancel, resend, withdraw ...):
            # the same registry the start forms and the API use; each opens its form.
            actions=[
                (title, action_url(kind, view.workflow_id))
                for kind, title in actions_for(view.workflow_id, viewer.actor)
            ],
        )
