"""Start forms and case actions: ``/start`` (what this role may start), ``/start/{kind}`` and
``/act/{kind}?workflow_id=...`` (a form drawn from the kind's input model).

Scope first: a kind the role may not use, or a case outside the actor's scope, is 404. On POST
the input model names the fields in error (422, next to each field, nothing started); a
business refusal is shown at the top with what to do (409); success is a 303 to the case page
with a one-line flash. The actor is the signed-in user.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from infra import i18n
from infra.i18n import N_
from starter.console.forms import form_fields, initial_values
from starter.console.web import Console, Viewer, signed_form
from starter.services.commands import (
    KINDS,
    Kind,
    OutOfScopeError,
    case_of,
    execute,
    field_errors,
    kinds_for,
    parse,
)
from starter.services.commands import case_parties as load_parties
from starter.services.errors import BadInputError, CliError, RefusedError
from starter.web.links import sentence

# What to do after a refusal, by rule id (the message itself says what is wrong).
HINTS = {
    "already_running": N_("Open the case that is running and decide or cancel it there first."),
    "already_bound": N_("Nothing to do: the customer is already bound to this partner."),
    "no_worker": N_("The process was started but no worker answered; ask ops to check it."),
    "temporal_unreachable": N_("Nothing was started; try again in a moment."),
}
DEFAULT_HINT = N_(
    "Nothing was started or recorded. Change what the message names and submit again, or ask ops."
)
CASE_GROUP = N_("Case actions")


def grouped(kinds: list[Kind]) -> list[tuple[str, list[Kind]]]:
    """Start forms by group, in registry order; case actions are reached from their case."""
    groups: dict[str, list[Kind]] = {}
    for k in kinds:
        if k.group != CASE_GROUP:
            groups.setdefault(k.group, []).append(k)
    return list(groups.items())


def register(app: FastAPI, c: Console) -> None:
    """Adds the start and case action routes, and the header's "Start" link."""
    for env in c.pages.values():
        env.globals["may_start"] = lambda actor: actor is not None and bool(kinds_for(actor))

    def form_page(
        request: Request,
        viewer: Viewer,
        kind: Kind,
        values: dict[str, str],
        status: int = 200,
        errors: dict[str, str] | None = None,
        refusal: str | None = None,
        hint: str | None = None,
    ) -> Response:
        return c.page(
            request,
            "start_form",
            viewer,
            status,
            title=kind.title,
            kind=kind,
            fields=form_fields(kind, viewer.actor),
            values=values,
            errors=errors or {},
            refusal=refusal,
            hint=hint,
            action=request.url.path,
        )

    @app.get("/start")
    async def start_index(request: Request) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        kinds = kinds_for(viewer.actor)
        if not kinds:
            return c.not_found(request, viewer)
        return c.page(
            request,
            "start",
            viewer,
            title=N_("Start"),
            groups=grouped(kinds),
            case_kinds=[k for k in kinds if k.group == CASE_GROUP],
        )

    async def usable(request: Request, viewer: Viewer, name: str) -> Kind | None:
        kind = KINDS.get(name)
        return kind if kind is not None and kind.may_use(viewer.actor) else None

    async def show(request: Request, name: str) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        kind = await usable(request, viewer, name)
        if kind is None:
            return c.not_found(request, viewer)
        prefill = {k: v for k, v in request.query_params.items() if k != "workflow_id"}
        wf_id = request.query_params.get("workflow_id", "").strip()
        if wf_id:
            # Opened from a case page: that case must be of this kind and in the actor's scope.
            parties = await load_parties(c.ctx, wf_id) if case_of(wf_id) == kind.case else None
            if parties is None or not parties.visible_to(viewer.actor):
                return c.not_found(request, viewer)
            prefill.update(kind.prefilled(wf_id))
        return form_page(request, viewer, kind, initial_values(kind, viewer.actor, prefill))

    async def submit(request: Request, name: str) -> Response:
        got = await signed_form(c, request)
        if isinstance(got, Response):
            return got
        viewer, form = got
        kind = await usable(request, viewer, name)
        if kind is None:
            return c.not_found(request, viewer)
        values = {**form, **kind.locked(viewer.actor)}
        attention = c.t(request, viewer, N_("Some fields need attention; nothing was started."))
        try:
            data = parse(kind, viewer.actor, form)
            done = await execute(c.ctx, viewer.actor, kind, data)
        except ValidationError as exc:
            errors = field_errors(kind, exc, lambda s: i18n.gettext(viewer.locale, s))
            return form_page(
                request, viewer, kind, values, 422, errors, errors.get("") or attention
            )
        except OutOfScopeError:
            return c.not_found(request, viewer)
        except RefusedError as exc:
            message = i18n.refusal_message(exc.rule or "", exc.message, viewer.locale)
            return form_page(
                request,
                viewer,
                kind,
                values,
                409,
                refusal=sentence(message),
                hint=HINTS.get(exc.rule or "", DEFAULT_HINT),
            )
        except BadInputError as exc:
            errors = field_errors(kind, exc, lambda s: i18n.gettext(viewer.locale, s))
            top = sentence(errors[""]) if "" in errors else attention
            return form_page(request, viewer, kind, values, 422, errors, top)
        except CliError as exc:
            return form_page(
                request,
                viewer,
                kind,
                values,
                503,
                refusal=sentence(exc.message),
                hint=N_("Nothing was started; try again in a moment."),
            )
        flash = done.text(lambda s: i18n.gettext(viewer.locale, s))
        await c.store.set_flash(viewer.session.session_id, flash)
        where = f"/cases/{done.workflow_id}" if done.workflow_id else "/start"
        return RedirectResponse(where, status_code=303)

    async def get_start(request: Request, kind: str) -> Response:
        return await show(request, kind)

    async def post_start(request: Request, kind: str) -> Response:
        return await submit(request, kind)

    for prefix in ("/start", "/act"):
        app.add_api_route(f"{prefix}/{{kind}}", get_start, methods=["GET"])
        app.add_api_route(f"{prefix}/{{kind}}", post_start, methods=["POST"])
