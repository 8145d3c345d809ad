"""``/api/imports``: reference-data imports for ops, as the imports page and ``partnerflow
import [--dry-run]`` do them (``starter.services.imports``): the file is the request body
(CSV or JSON), ``dry_run=true`` answers what would change and writes nothing.

Anyone but ops gets 404, as on the console, and so does a kind the page does not offer
(``applications`` starts workflows: the onboarding form and the CLI do that). A bad file is
422 ``invalid_rows`` with one entry per row and field in ``errors``; nothing is written then.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from domain.parties import Role
from infra import i18n
from infra.i18n import N_
from starter.console.api_base import (
    PROBLEMS,
    ApiProblem,
    CallerDep,
    ContextDep,
    FieldProblem,
    from_cli_error,
    not_found,
)
from starter.console.import_jobs import safe_name
from starter.console.routes_imports import console_kinds
from starter.imports.base import ImportRefusedError
from starter.services import imports
from starter.services.errors import BadInputError
from starter.services.jsonable import to_jsonable

router = APIRouter(prefix="/imports", tags=["imports"], responses=PROBLEMS)

# The file's format by its media type (the importers read the format from the suffix).
SUFFIX = {"text/csv": ".csv", "application/json": ".json"}
BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    },
}


@router.get("", summary=N_("The import kinds"))
async def kinds(caller: CallerDep) -> list[dict[str, Any]]:
    """The kinds of reference data the imports page offers, with their columns (required
    first) (ops)."""
    if caller.actor.role != Role.OPS:
        raise not_found(caller.locale)
    return [
        {
            "kind": kind,
            "name": caller.t(about["name"]),
            "columns": about["columns"],
            "path": f"/api/imports/{kind}",
        }
        for kind, about in console_kinds().items()
    ]


@router.post(
    "/{kind}",
    summary=N_("Import a reference-data file"),
    openapi_extra={"requestBody": BODY},
)
async def import_file(
    kind: str,
    request: Request,
    caller: CallerDep,
    ctx: ContextDep,
    dry_run: Annotated[bool, Query(description="Preview: what would change.")] = False,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """All rows or none (ops). With `dry_run=true`: inserts, updates and unchanged rows, and
    the changed fields, nothing written."""
    if caller.actor.role != Role.OPS or kind not in console_kinds():
        raise not_found(caller.locale)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = SUFFIX.get(media)
    if suffix is None:
        raise ApiProblem(
            415,
            "invalid_file",
            caller.t(N_("Send the file as text/csv or application/json.")),
            field="content-type",
        )
    limit = ctx.settings.console_import_max_bytes
    too_large = ApiProblem(
        413, "invalid_file", caller.t(N_("The file is larger than %(limit)s bytes."), limit=limit)
    )
    # Refused as soon as it is known to be too large: never held whole in memory.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    # The file's name appears in the row errors; it must end in the format's suffix.
    named = filename if filename and filename.lower().endswith(suffix) else f"{kind}{suffix}"
    name = safe_name(named)
    with tempfile.TemporaryDirectory(prefix="pf-api-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(body)
        try:
            done = await (imports.preview if dry_run else imports.run)(ctx, kind, path)
            answer = asdict(done)
            # The importers' notes in the caller's language (the CLI prints them in English).
            answer["notes"] = [i18n.term(caller.locale, n) for n in done.notes]
            return dict(to_jsonable(answer))
        except ImportRefusedError as exc:
            errors = [
                FieldProblem(
                    field=f"row {e.row}.{e.field}", detail=i18n.term(caller.locale, e.reason)
                )
                for e in exc.errors
            ]
            problem = from_cli_error(exc, caller.locale)
            raise ApiProblem(422, "invalid_rows", problem.detail, errors=errors) from None
        except BadInputError as exc:
            raise from_cli_error(exc, caller.locale) from None
