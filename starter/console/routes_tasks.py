"""The inbox and the task pages: claim, release, reassign, decide.

Every route loads the signed-in actor, then the task within that actor's scope; a task
outside it answers 404 like a missing one. The actor of a decision is the signed-in user.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from infra import i18n
from infra.db import utcnow
from infra.i18n import N_
from infra.tables import AuditEvent, HumanTask
from starter.console import deciding as dc
from starter.console import inbox as ib
from starter.console import tasks as tk
from starter.console.names import with_names
from starter.console.scope import NotInScopeError, task_in_scope
from starter.console.web import Console, Viewer, signed_form
from starter.services.errors import CliError, RefusedError
from starter.web.links import readable, sentence

# What to do after a refusal, by rule id (the message itself says what is wrong).
HINTS = {
    "already_decided": N_("Nothing more to do: the decision recorded first stands."),
    "permission_denied": N_("This decision belongs to someone else; ask ops to reassign the task."),
    "actor_not_verified": N_("Your account changed since you signed in; sign out and in again."),
    "workflow_not_running": N_("The process has ended; the inbox no longer lists this task."),
    "workflow_finished": N_("The process has ended; the inbox no longer lists this task."),
}
DEFAULT_HINT = N_(
    "Nothing was recorded. Correct what the message names and decide again, or leave a "
    "comment and ask ops."
)


async def names(c: Console, facts: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts as rows; a partner or customer id also gets its name."""
    rows = [
        (key.replace("_", " "), readable(value))
        for key, value in facts.items()
        if value not in (None, "", [], {}) and not isinstance(value, dict | list)
    ]
    return await with_names(c.sessions, rows)


async def timeline(c: Console, workflow_id: str) -> list[AuditEvent]:
    """The workflow's business events, oldest first."""
    async with c.sessions() as s:
        return list(
            (
                await s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.workflow_id == workflow_id)
                    .order_by(AuditEvent.occurred_at, AuditEvent.id)
                )
            ).all()
        )


def claim_refusal(viewer: Viewer, exc: ib.ClaimError | CliError) -> str:
    """A refused claim, release or reassignment in the viewer's language."""
    if isinstance(exc, ib.ClaimError):
        return exc.translated(lambda s: i18n.gettext(viewer.locale, s))
    return i18n.refusal_message(exc.rule or "", exc.message, viewer.locale)


def register(app: FastAPI, c: Console) -> None:
    """Adds the inbox and task routes."""

    async def task_page(
        request: Request,
        viewer: Viewer,
        task: HumanTask,
        status: int = 200,
        refusal: str | None = None,
        hint: str | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
    ) -> Response:
        client = await c.client()
        facts = await tk.workflow_facts(client, task.workflow_id)
        now = utcnow()
        due, overdue = ib.due_text(task.due_at, now, viewer.locale, viewer.timezone)
        return c.page(
            request,
            "task",
            viewer,
            status,
            title=task.title,
            task=task,
            kind=tk.kind_of(task.kind),
            business_object=ib.business_object(task.workflow_id, viewer.locale),
            queue=ib.queue_name(task),
            due=due,
            overdue=overdue,
            facts=await names(c, facts),
            timeline=await timeline(c, task.workflow_id),
            nonce=tk.new_nonce(),
            refusal=refusal,
            hint=hint,
            errors=errors or {},
            values=values or {},
            may_reassign=viewer.actor.role in ib.REASSIGNERS,
        )

    @app.get("/")
    async def inbox(request: Request) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        box = await ib.load_inbox(
            c.sessions, viewer.actor, locale=viewer.locale, timezone=viewer.timezone
        )
        return c.page(request, "inbox", viewer, title=N_("Inbox"), inbox=box)

    @app.get("/tasks/{task_id}")
    async def show_task(request: Request, task_id: int) -> Response:
        viewer = await c.viewer(request)
        if viewer is None:
            return c.sign_in_first(request)
        try:
            task = await task_in_scope(c.sessions, viewer.actor, task_id)
        except NotInScopeError:
            return c.not_found(request, viewer)
        return await task_page(request, viewer, task)

    async def posted(
        request: Request, task_id: int
    ) -> tuple[Viewer, HumanTask, dict[str, str]] | Response:
        """Signed in, CSRF token good, task in scope: or the response that says otherwise."""
        got = await signed_form(c, request)
        if isinstance(got, Response):
            return got
        viewer, form = got
        try:
            task = await task_in_scope(c.sessions, viewer.actor, task_id)
        except NotInScopeError:
            return c.not_found(request, viewer)
        return viewer, task, form

    async def back(viewer: Viewer, where: str, flash: str) -> Response:
        await c.store.set_flash(viewer.session.session_id, flash)
        return RedirectResponse(where, status_code=303)

    @app.post("/tasks/{task_id}/claim")
    async def claim(request: Request, task_id: int) -> Response:
        got = await posted(request, task_id)
        if isinstance(got, Response):
            return got
        viewer, task, _ = got
        try:
            task = await ib.claim(c.sessions, viewer.actor, task_id, c.client)
        except (ib.ClaimError, CliError) as exc:
            message = claim_refusal(viewer, exc)
            return await task_page(request, viewer, task, 409, refusal=sentence(message))
        return await back(
            viewer,
            f"/tasks/{task_id}",
            c.t(request, viewer, N_("You claimed “%(title)s”."), title=task.title),
        )

    @app.post("/tasks/{task_id}/release")
    async def release(request: Request, task_id: int) -> Response:
        got = await posted(request, task_id)
        if isinstance(got, Response):
            return got
        viewer, task, _ = got
        try:
            await ib.release(c.sessions, viewer.actor, task_id)
        except ib.ClaimError as exc:
            message = claim_refusal(viewer, exc)
            return await task_page(request, viewer, task, 409, refusal=sentence(message))
        return await back(
            viewer,
            "/",
            c.t(request, viewer, N_("“%(title)s” is back in the queue."), title=task.title),
        )

    @app.post("/tasks/{task_id}/reassign")
    async def reassign(request: Request, task_id: int) -> Response:
        got = await posted(request, task_id)
        if isinstance(got, Response):
            return got
        viewer, task, form = got
        to_id = form.get("to", "").strip()
        try:
            to = await c.ctx.actor(to_id)
            await ib.reassign(c.sessions, viewer.actor, task_id, to)
        except (ib.ClaimError, CliError) as exc:
            message = (
                claim_refusal(viewer, exc)
                if isinstance(exc, ib.ClaimError)
                else c.t(request, viewer, N_("There is no user %(user)s."), user=repr(to_id))
            )
            return await task_page(request, viewer, task, 409, refusal=sentence(message))
        moved = c.t(
            request,
            viewer,
            N_("“%(title)s” is now with %(user)s."),
            title=task.title,
            user=to.name or to.user_id,
        )
        return await back(viewer, "/", moved)

    @app.post("/tasks/{task_id}/decide/{action_name}")
    async def decide(request: Request, task_id: int, action_name: str) -> Response:
        got = await posted(request, task_id)
        if isinstance(got, Response):
            return got
        viewer, task, form = got
        kind = tk.kind_of(task.kind)
        action = next((a for a in kind.actions if a.name == action_name), None)
        if action is None or task.status != "open":
            return c.not_found(request, viewer)
        nonce = form.get("nonce") or tk.new_nonce()
        try:
            result = await dc.decide_task(
                c.sessions, await c.client(), viewer.actor, task, action, form, nonce
            )
        except dc.TaskHeldError as exc:
            return await task_page(
                request,
                viewer,
                task,
                409,
                refusal=c.t(
                    request,
                    viewer,
                    N_("%(user)s holds this task; nothing was recorded."),
                    user=exc.holder,
                ),
                hint=N_("Ask them to release it, or ask ops to reassign it to you."),
            )
        except tk.FormError as exc:
            return await task_page(
                request,
                viewer,
                task,
                422,
                errors=exc.fields,
                values=form,
                refusal=c.t(
                    request, viewer, N_("Some fields need attention; nothing was recorded.")
                ),
            )
        except RefusedError as exc:
            return await task_page(
                request,
                viewer,
                task,
                409,
                refusal=sentence(i18n.refusal_message(exc.rule or "", exc.message, viewer.locale)),
                hint=HINTS.get(exc.rule or "", DEFAULT_HINT),
                values=form,
            )
        except CliError as exc:
            return await task_page(
                request,
                viewer,
                task,
                503,
                refusal=sentence(exc.message),
                hint=N_("Nothing was recorded; try again in a moment."),
                values=form,
            )
        except dc.OutcomeRefusedError as exc:
            if exc.invoice:  # an invoice that verification refused: keep what was typed
                refusal = c.t(
                    request,
                    viewer,
                    N_("The invoice was not accepted: %(problems)s"),
                    problems=sentence(exc.reason),
                )
                hint = N_("Correct the invoice details (or issue a new invoice) and submit again.")
            else:
                refusal = c.t(
                    request,
                    viewer,
                    N_("%(action)s refused: %(reason)s"),
                    action=c.t(request, viewer, action.label),
                    reason=sentence(exc.reason),
                )
                hint = DEFAULT_HINT
            return await task_page(
                request,
                viewer,
                task,
                422,
                refusal=refusal,
                hint=hint,
                values=form if exc.invoice else None,
            )
        status = str(result.get("status") or "")
        label = c.t(request, viewer, action.label)
        done = (
            c.t(
                request,
                viewer,
                N_("%(action)s: “%(title)s”; status is now %(status)s."),
                action=label,
                title=task.title,
                status=i18n.gettext(viewer.locale, status),
            )
            if status
            else c.t(
                request, viewer, N_("%(action)s: “%(title)s”."), action=label, title=task.title
            )
        )
        return await back(viewer, "/", done)
