"""The imports page (ops only; anyone else gets the 404 of a page that is not there).

``GET /imports`` is the upload form; ``POST /imports/preview`` keeps the file (under a random
id bound to the session) and checks it in the background: the job's page shows the row /
field errors or what would change, with a Confirm button; ``POST /imports/confirm`` imports
it, again in the background. ``GET /imports/{id}`` shows the job (its progress while a step
runs, refreshing itself); ``GET /imports/{id}/progress`` is what its script polls. Both
steps call the imports service, as ``partnerflow import [--dry-run]`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import UploadFile
from temporalio.client import Client

from domain.parties import Role
from infra.i18n import N_
from starter.console.import_jobs import SUFFIXES, ImportJob, ImportJobs, State
from starter.console.web import Console, Viewer
from starter.services import imports
from starter.services.context import AppContext

# How long a POST waits for its step before it shows the progress page instead.
SETTLE_SECONDS = 3.0
# Changes and errors listed on the page (the counts cover every row).
SHOWN_ROWS = 50
# Multipart framing around the file (boundaries, headers, the other fields).
FORM_OVERHEAD = 64 * 1024

KIND_NAMES = {
    "partners": N_("Partners"),
    "partner-users": N_("Users (partner staff, vendor staff, customer users)"),
    "customers": N_("Customers"),
    "subscriptions": N_("Subscriptions (yearly / monthly orders)"),
    "consumption": N_("Consumption lines"),
    "bill-status": N_("Partner bill status per month"),
    "incentive-rates": N_("Incentive rates"),
    "customer-vouchers": N_("Customer vouchers and cash coupons"),
    "resale-allocations": N_("Resale allocations"),
}


class _ConsoleContext(AppContext):
    """The console's database and Temporal client, for the imports service."""

    def __init__(self, c: Console) -> None:
        super().__init__(c.settings)
        self._console = c

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The console's database sessions."""
        return self._console.sessions

    async def client(self) -> Client:
        """The console's Temporal client."""
        return await self._console.client()


def size_text(size: int) -> str:
    """A byte count as people read a file size limit (5 MB, 64 KB)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{size / 1024:.0f} KB"


def console_kinds() -> dict[str, dict[str, Any]]:
    """The kinds the page offers: those that only write reference data (``applications``
    starts workflows: the onboarding form or ``partnerflow import`` do that)."""
    found = imports.importers()
    order = [k for k in KIND_NAMES if k in found] + sorted(set(found) - set(KIND_NAMES))
    return {
        kind: {"name": KIND_NAMES.get(kind, kind), "columns": columns(found[kind].model)}
        for kind in order
        if found[kind].transactional
    }


def columns(model: type[BaseModel]) -> list[str]:
    """A file's columns, those it must have first."""
    fields = model.model_fields
    return [n for n, f in fields.items() if f.is_required()] + [
        n for n, f in fields.items() if not f.is_required()
    ]


def register(app: FastAPI, c: Console) -> None:
    """Adds the imports routes."""
    jobs = ImportJobs(c.settings.console_import_dir, c.settings.console_import_ttl)
    ctx = _ConsoleContext(c)
    limit = c.settings.console_import_max_bytes

    async def ops(request: Request) -> Viewer | Response:
        """The signed-in ops user, or the response that says otherwise (404 to others)."""
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        if viewer.actor.role != Role.OPS:
            return c.not_found(request, viewer)
        return viewer

    def form_page(
        request: Request,
        viewer: Viewer,
        status: int = 200,
        errors: dict[str, str] | None = None,
        kind: str = "",
    ) -> Response:
        return c.page(
            request,
            "imports",
            viewer,
            status,
            title=N_("Imports"),
            kinds=console_kinds(),
            kind=kind,
            errors=errors or {},
            limit=size_text(limit),
            refusal=c.t(request, viewer, N_("Nothing was uploaded; see the fields below."))
            if errors
            else None,
        )

    def job_page(request: Request, viewer: Viewer, job: ImportJob, status: int = 200) -> Response:
        return c.page(
            request,
            "import_job",
            viewer,
            status,
            title=N_("Import"),
            job=job,
            kind_name=KIND_NAMES.get(job.kind, job.kind),
            progress=job.as_progress(),
            shown=SHOWN_ROWS,
        )

    async def run_step(
        job: ImportJob, state: State, work: Callable[[ImportJob], Awaitable[State]]
    ) -> Response:
        """Runs the job's step in the background and sends the browser to the job's page
        (POST-redirect-GET) once the step is done or SETTLE_SECONDS have passed: then the
        page shows the step's progress."""
        jobs.start(job, state, work)
        await jobs.settle(job, SETTLE_SECONDS)
        return RedirectResponse(f"/imports/{job.id}", status_code=303)

    @app.get("/imports")
    async def imports_form(request: Request) -> Response:
        got = await ops(request)
        if isinstance(got, Response):
            return got
        return form_page(request, got)

    @app.post("/imports/preview")
    async def preview(request: Request) -> Response:
        got = await ops(request)
        if isinstance(got, Response):
            return got
        viewer = got
        too_large = c.t(
            request,
            viewer,
            N_(
                "The file is larger than %(limit)s; nothing was uploaded. Split it into "
                "smaller files and import them one after another."
            ),
            limit=size_text(limit),
        )
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
            # Refused before reading the body; the connection is closed after the answer.
            answer = form_page(request, viewer, 413, {"file": too_large})
            answer.headers["Connection"] = "close"
            return answer
        form = await request.form(max_files=1, max_fields=10)
        refused = c.csrf_refusal(request, viewer, {"csrf": form.get("csrf")})
        if refused is not None:
            return refused
        kind = str(form.get("kind") or "")
        upload = form.get("file")
        errors: dict[str, str] = {}
        if kind not in console_kinds():
            errors["kind"] = c.t(request, viewer, N_("Choose what the file holds."))
        content = b""
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors["file"] = c.t(request, viewer, N_("Choose a .csv or .json file."))
        elif not upload.filename.lower().endswith(SUFFIXES):
            errors["file"] = c.t(
                request,
                viewer,
                N_("%(name)s is not a .csv or .json file."),
                name=upload.filename,
            )
        else:
            content = await upload.read(limit + 1)
            if len(content) > limit:
                return form_page(request, viewer, 413, {"file": too_large}, kind)
            if not content:
                errors["file"] = c.t(request, viewer, N_("The file is empty."))
        if errors or not isinstance(upload, UploadFile):
            return form_page(request, viewer, 422, errors, kind)
        job = jobs.create(
            viewer.session.session_id,
            viewer.actor.user_id,
            kind,
            upload.filename or "upload",
            content,
        )

        async def check(j: ImportJob) -> State:
            j.preview = await imports.preview(ctx, j.kind, j.path, j.progress)
            return "preview"

        return await run_step(job, "checking", check)

    @app.post("/imports/confirm")
    async def confirm(request: Request) -> Response:
        got = await ops(request)
        if isinstance(got, Response):
            return got
        viewer = got
        form = await request.form(max_files=0, max_fields=10)
        refused = c.csrf_refusal(request, viewer, {"csrf": form.get("csrf")})
        if refused is not None:
            return refused
        job = jobs.get(str(form.get("id") or ""), viewer.session.session_id)
        if job is None:
            return c.page(
                request,
                "message",
                viewer,
                404,
                title=N_("This upload has expired"),
                message=N_(
                    "Nothing was imported. Uploads are kept for a limited time after their "
                    "preview; upload the file again."
                ),
                ok=False,
            )
        if job.state != "preview":  # imported already, or never checked: show where it is
            return RedirectResponse(f"/imports/{job.id}", status_code=303)

        async def write(j: ImportJob) -> State:
            j.result = await imports.run(ctx, j.kind, j.path, j.progress)
            return "done"

        return await run_step(job, "importing", write)

    @app.get("/imports/{job_id}")
    async def show(request: Request, job_id: str) -> Response:
        got = await ops(request)
        if isinstance(got, Response):
            return got
        job = jobs.get(job_id, got.session.session_id)
        if job is None:
            return c.not_found(request, got)
        return job_page(request, got, job)

    @app.get("/imports/{job_id}/progress")
    async def progress(request: Request, job_id: str) -> Response:
        got = await ops(request)
        if isinstance(got, Response):
            return got
        job = jobs.get(job_id, got.session.session_id)
        if job is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse(job.as_progress(), headers={"Cache-Control": "no-store"})
