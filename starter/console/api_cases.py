"""``/api/cases``: the case list with the console's filters (and as CSV), and one case with
its timeline and "waiting for" (``starter.services.cases``, ``starter.services.case_view``).

Scope first, as on the console: a case outside the caller's scope is 404 like a missing
one, and never in the list.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from infra.i18n import N_
from starter.console.api_base import PROBLEMS, ApiProblem, CallerDep, ContextDep, not_found
from starter.console.routes_cases import csv_download
from starter.services.case_view import CaseView, case
from starter.services.cases import (
    CaseFilters,
    CaseNotFoundError,
    CaseRow,
    list_cases,
)

router = APIRouter(prefix="/cases", tags=["cases"], responses=PROBLEMS)


class CasePageOut(BaseModel):
    """A page of cases; pass `next_cursor` as `cursor` (with the same filters) for the
    next one."""

    items: list[CaseRow]
    total: int
    next_cursor: str | None


def _cursor(page: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"page": page}).encode()).decode().rstrip("=")


def _page_of(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        page = int(json.loads(raw)["page"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        page = 0
    if page < 1:
        raise ApiProblem(
            422,
            "invalid_cursor",
            "cursor: not a cursor this API gave out; start again without it",
            field="cursor",
        )
    return page


Filters = Annotated[CaseFilters, Query()]


@router.get("", response_model=CasePageOut, summary=N_("Cases in your scope, filtered and sorted"))
async def cases(
    caller: CallerDep,
    ctx: ContextDep,
    filters: Filters,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CasePageOut:
    """The console's case list: type, status, partner, customer, overdue and date filters,
    sorting; `per_page` rows a page (`page` or the opaque `cursor`)."""
    if cursor:
        filters = filters.model_copy(update={"page": _page_of(cursor)})
    page = await list_cases(ctx, caller.actor, filters)
    return CasePageOut(
        items=page.items,
        total=page.total,
        next_cursor=_cursor(page.page + 1) if page.has_next else None,
    )


@router.get(
    ".csv",
    summary=N_("The case list as CSV"),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def cases_csv(caller: CallerDep, ctx: ContextDep, filters: Filters) -> StreamingResponse:
    """Every case matching the filters (all pages, at most 50,000 rows), the console's
    columns; cells that would start a spreadsheet formula are quoted."""
    return await csv_download(ctx, caller.actor, filters)


@router.get("/{workflow_id}", response_model=CaseView, summary=N_("One case: status, timeline"))
async def one_case(workflow_id: str, caller: CallerDep, ctx: ContextDep) -> CaseView:
    """Status, people, "waiting for", and one timeline of events, emails and timers ahead;
    404 outside your scope."""
    try:
        return await case(ctx, caller.actor, workflow_id)
    except CaseNotFoundError:
        raise not_found(caller.locale) from None
