"""The remaining "show" pages: partners (``partnerflow partner show``) and schedules
(``partnerflow schedules list|trigger``), on the services the CLI and the API call.

Scope first: a partner outside the reader's scope and the schedules for anyone but ops are
404, like a page that does not exist. Triggering a schedule is a POST with the CSRF token,
then a redirect back to the list with a one-line flash.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from domain.certification import LEVELS
from infra import i18n
from infra.i18n import N_
from starter.console.web import Console, signed_form
from starter.services import schedules as sched
from starter.services.errors import CliError, RefusedError
from starter.services.partners import (
    ALL_PARTNERS,
    PartnerNotFoundError,
    list_partners,
    may_list_partners,
    partner_for,
    partner_in_scope,
)

# Partner, certification and schedule states as a reader calls them (``term`` translates).
TERMS = (
    N_("ACTIVE"),
    N_("SUSPENDED"),
    N_("EXITED"),
    N_("pending"),
    N_("certified"),
    N_("rejected"),
    N_("withdrawn"),
    N_("active"),
    N_("paused"),
    N_("missing"),
    N_("vat_special"),
)


def register(app: FastAPI, c: Console) -> None:
    """Adds ``/partners``, ``/partners/{id}``, ``/schedules`` and its trigger."""
    # The navigation shows each page to those it has something for.
    for env in c.pages.values():
        env.globals["may_list_partners"] = may_list_partners
        env.globals["may_see_schedules"] = sched.may_see_schedules
        env.globals["may_open_partner"] = partner_in_scope

    @app.get("/partners")
    async def partners(request: Request) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        if not may_list_partners(viewer.actor):
            return c.not_found(request, viewer)
        search = request.query_params.get("q", "").strip()
        rows = await list_partners(c.ctx, viewer.actor, search or None)
        return c.page(
            request,
            "partners",
            viewer,
            title=N_("Partners"),
            rows=rows,
            search=search,
            all_partners=viewer.actor.role in ALL_PARTNERS,
        )

    @app.get("/partners/{partner_id}")
    async def partner(request: Request, partner_id: str) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        try:
            report = await partner_for(c.ctx, viewer.actor, partner_id)
        except PartnerNotFoundError:
            return c.not_found(request, viewer)
        return c.page(
            request,
            "partner",
            viewer,
            title=f"{report['partner']['company_name']} ({partner_id})",
            r=report,
            levels={path.value: [lv.value for lv in lvs] for path, lvs in LEVELS.items()},
            all_partners=viewer.actor.role in ALL_PARTNERS,
        )

    @app.get("/schedules")
    async def schedules(request: Request) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        error: str | None = None
        try:
            rows = await sched.list_schedules(c.ctx, viewer.actor)
        except sched.SchedulesNotInScopeError:
            return c.not_found(request, viewer)
        except CliError as exc:  # Temporal unreachable: say so, list nothing
            rows, error = [], exc.message
        return c.page(
            request,
            "schedules",
            viewer,
            503 if error else 200,
            title=N_("Schedules"),
            rows=rows,
            temporal_error=error,
        )

    @app.post("/schedules/{schedule_id}/trigger")
    async def trigger(request: Request, schedule_id: str) -> Response:
        got = await signed_form(c, request)
        if isinstance(got, Response):
            return got
        viewer, _ = got
        try:
            await sched.trigger(c.ctx, viewer.actor, schedule_id)
            flash = c.t(
                request,
                viewer,
                N_("Schedule %(id)s triggered: its run starts now."),
                id=schedule_id,
            )
        except sched.SchedulesNotInScopeError:
            return c.not_found(request, viewer)
        except RefusedError as exc:
            flash = i18n.refusal_message(exc.rule or "", exc.message, viewer.locale)
        except CliError as exc:
            flash = c.t(
                request, viewer, N_("Nothing was triggered: %(reason)s"), reason=exc.message
            )
        await c.store.set_flash(viewer.session.session_id, flash)
        return RedirectResponse("/schedules", status_code=303)
