"""The link server: signed action links from emails (and, later, the approver console).

A link is a credential for one decision on one run. GET shows a confirmation page and decides
nothing, so mail scanners that prefetch links do no harm. POST records the link as used
(whatever comes of it), then runs the workflow update on the run the link was issued for,
with the link's nonce as the update id, so a double submit is one decision. A link whose run
has closed (a cancelled invitation, a decided request) refuses, even when a later run of the
same workflow id is open: an old link never acts on a new invitation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.parties import Actor, Decision
from infra import i18n
from infra.codec_server import codec_routes
from infra.config import Settings
from infra.db import insert_ignore, utcnow
from infra.i18n import N_
from infra.links import InvalidLinkError, LinkClaims, LinkSigner, fmt_time
from infra.logs import configure_logging
from infra.mailer import TEMPLATE_DIR, install_locale
from infra.tables import HumanTask, LinkUse
from infra.tracing import configure_tracing
from starter.services.context import AppContext, temporal_errors
from starter.services.decisions import execute_decision
from starter.services.errors import BadInputError, CliError, RefusedError
from starter.services.jsonable import to_jsonable
from starter.web.ops import install_ops, ready_checks

LABELS = {
    "accept": N_("Accept"),
    "decline": N_("Decline"),
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "cancel": N_("Cancel"),
    "sign": N_("Sign"),
    "join": N_("Join"),
    "review_approve": N_("Approve the business information"),
    "review_reject": N_("Reject the business information"),
    "sign_partner_agreement": N_("Sign the partner agreement"),
    "sign_integrity_commitment": N_("Sign the integrity commitment"),
    "unlock": N_("Unlock"),
    "withdraw": N_("Withdraw"),
    "revoke": N_("Revoke"),
}
log = logging.getLogger("partnerflow.web")
SUMMARY_FIELDS = ("status", "partner_id", "customer_id", "mode", "expires_at", "reason")
# What a workflow is, in words, by workflow id prefix (for "the invitation ... is closed").
KINDS = (
    ("invitation-", "invitation"),
    ("binding-change-", "request"),
    ("incentive-", "payout request"),
    ("authorization-", "authorization request"),
    ("onboarding-", "application"),
    ("path-", "development path invitation"),
)
# Actions whose own outcome may be REFUSED (a manager rejecting a path): that is done, not a
# refusal of the link; for the others (accept, approve...) REFUSED means a rule said no.
SAYING_NO = frozenset({"reject", "decline", "cancel", "review_reject", "withdraw", "revoke"})
# link_uses.outcome while the decision is in flight: a POST that finds it retries the update
# with the same update id (one decision), so a crash between the two does not lose the link.
PENDING = "pending"
# Prefix of the recorded outcome of a link whose decision was refused (for its later visits).
REFUSED = "Nothing was done: "


def kind_of(workflow_id: str) -> str:
    """``invitation``, ``request``...: what the link's workflow is, for the pages."""
    return next((kind for prefix, kind in KINDS if workflow_id.startswith(prefix)), "request")


def readable(value: Any) -> str:
    """A summary value for a page: ISO times become ``9 Dec 2026, 14:05 UTC``."""
    if isinstance(value, datetime):
        return fmt_time(value)
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and "T" in value:
        try:
            return fmt_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    return str(value)


_CJK = re.compile("[\u4e00-\u9fff]")


def sentence(message: str) -> str:
    """First letter up, final stop; the rest untouched (``str.capitalize`` lowers "UTC").
    A Chinese sentence keeps its first character (often an id, "fin-1 已先认领") and ends
    with a full-width stop."""
    message = message.strip()
    if not message:
        return message
    if _CJK.search(message):
        return message if message.endswith(("。", "\uff01", "\uff1f", ".")) else message + "。"
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


class Refusal(Exception):
    """Nothing was done; ``status`` is the HTTP status of the page that says why."""

    def __init__(self, title: str, message: str, status: int, *, final: bool = True) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status
        # False: a fault on our side (Temporal unreachable); the link stays usable.
        self.final = final


class LinkServer:
    """Resources of the running server."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.ctx = AppContext(settings)
        self.signer = LinkSigner(settings.link_secret, settings.public_base_url, settings.link_ttl)
        self._client = client
        self.settings = settings
        # One environment per locale, as the console's; a page speaks its link's recipient's
        # language. Refusal messages built in Python below are still English.
        self.pages: dict[str, Environment] = {}
        for locale in i18n.LOCALES:
            env = Environment(
                loader=FileSystemLoader(TEMPLATE_DIR),
                autoescape=select_autoescape(default=True),
                extensions=["jinja2.ext.i18n"],
            )
            install_locale(env, locale)
            self.pages[locale] = env

    async def client(self) -> Client:
        """The Temporal client (given, or connected on first use)."""
        if self._client is None:
            self._client = await self.ctx.client()
        return self._client

    async def locale_for(self, request: Request, principal_id: str | None) -> str:
        """The page's language: the switch's cookie, the link's recipient's locale,
        Accept-Language, the site default (docs/i18n.md)."""
        from starter.console.lang import anonymous_locale, user_language

        recipient = None
        if principal_id:
            recipient, _ = await user_language(self.ctx.sessions, principal_id)
        return anonymous_locale(request, self.settings.default_locale, recipient)

    def page(
        self, name: str, status: int = 200, locale: str = "en", **context: Any
    ) -> HTMLResponse:
        """Renders a page template in ``locale`` (a title or message marked with ``N_`` is
        translated; text built with data has no catalog entry and stays as it is)."""
        for key in ("title", "message"):
            if isinstance(context.get(key), str):
                context[key] = i18n.gettext(locale, context[key])
        html = self.pages[locale].get_template(f"web/{name}.html.j2").render(lang=locale, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def refusal(self, r: Refusal, locale: str = "en") -> HTMLResponse:
        """A page that explains why nothing happened."""
        return self.page(
            "link_result", r.status, locale, title=r.title, ok=False, message=r.message
        )

    def verify(self, token: str) -> LinkClaims:
        """The link's claims; a Refusal when forged, expired or issued unbound to a run."""
        try:
            claims = self.signer.verify(token)
        except InvalidLinkError as exc:
            raise Refusal(N_("Nothing was done"), sentence(str(exc)), 400) from None
        if claims.run_id is None:
            raise Refusal(
                N_("This link no longer works"),
                f"It was issued before links were bound to one {kind_of(claims.workflow_id)}. "
                f"Use the link of a newer email, or decide in the partner centre "
                f"(reference {claims.workflow_id}).",
                410,
            )
        return claims

    async def summary(self, claims: LinkClaims) -> list[tuple[str, str]]:
        """A few facts from the run's ``status`` query, for the confirmation page."""
        try:
            client = await self.client()
            handle = client.get_workflow_handle(claims.workflow_id, run_id=claims.run_id)
            raw = await handle.query("status")
        except Exception:
            return []
        from starter.console.names import with_names

        return await with_names(self.ctx.sessions, facts(raw))

    async def used(self, nonce: str) -> LinkUse | None:
        """The earlier use of this link, if any."""
        async with self.ctx.sessions() as s:
            row: LinkUse | None = await s.scalar(select(LinkUse).where(LinkUse.nonce == nonce))
            return row

    async def check_open(self, claims: LinkClaims) -> None:
        """Refuses (410) unless the link's run is still running and its task still open."""
        kind = kind_of(claims.workflow_id)
        try:
            client = await self.client()
            run = await client.get_workflow_handle(
                claims.workflow_id, run_id=claims.run_id
            ).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Refusal(
                    f"This {kind} is closed",
                    f"The {kind} this link came from no longer exists.",
                    410,
                ) from None
            raise unavailable(exc) from None
        except CliError as exc:
            raise unavailable(exc) from None
        if run.status != WorkflowExecutionStatus.RUNNING:
            state = await self.summary(claims)
            status = dict(state).get("status")
            reason = dict(state).get("reason")
            what = f" ({status}{': ' + reason if reason else ''})" if status else ""
            raise Refusal(
                f"This {kind} is closed",
                f"The {kind} this link came from is closed{what}; this link can no longer "
                f"act. If a newer {kind} was sent, use the link in its own email.",
                410,
            )
        if claims.task_key is not None:
            async with self.ctx.sessions() as s:
                task = await s.scalar(
                    select(HumanTask).where(HumanTask.idempotency_key == claims.task_key)
                )
            if task is not None and task.status != "open":
                by = f" by {task.decided_by}" if task.decided_by else ""
                when = f" on {fmt_time(task.decided_at)}" if task.decided_at else ""
                raise Refusal(
                    N_("This decision is closed"),
                    f"The task this link came from was closed ({task.status}{by}{when}); "
                    "this link can no longer act.",
                    410,
                )

    async def record(self, claims: LinkClaims, actor: str, outcome: str) -> None:
        """Marks the link used (first POST) or records how its use ended."""
        async with self.ctx.sessions.begin() as s:
            await s.execute(
                insert_ignore(s, LinkUse, ["nonce"]).values(
                    nonce=claims.nonce,
                    workflow_id=claims.workflow_id,
                    action=claims.action,
                    actor=actor,
                    outcome=outcome,
                    used_at=utcnow(),
                )
            )
            if outcome != PENDING:
                await s.execute(
                    update(LinkUse).where(LinkUse.nonce == claims.nonce).values(outcome=outcome)
                )

    async def decide(self, claims: LinkClaims, actor: Actor, comment: str | None) -> Any:
        """Runs the update on the link's run; business refusals become a Refusal."""
        try:
            client = await self.client()
            async with temporal_errors(claims.action):
                # The typed update returns the workflow's view model; the page reads its fields
                # as the JSON values the status query gives.
                return to_jsonable(
                    await execute_decision(
                        client,
                        claims.workflow_id,
                        claims.action,
                        Decision(actor=actor, nonce=claims.nonce, comment=comment),
                        run_id=claims.run_id,
                        update_id=claims.nonce,
                    )
                )
        except CliError as exc:
            if exc.rule in ("workflow_finished", "workflow_not_running"):
                await self.check_open(claims)  # says what closed it
                kind = kind_of(claims.workflow_id)
                raise Refusal(f"This {kind} is closed", sentence(exc.message), 410) from None
            if not isinstance(exc, RefusedError):  # Temporal unreachable or failing: not final
                raise unavailable(exc) from None
            raise Refusal("Refused", sentence(exc.message), 409) from None


def unavailable(exc: Exception) -> Refusal:
    """Our fault, not the link's: it stays usable (same update id, one decision).

    The cause goes to the log, not to the page: it names internal hosts.
    """
    log.warning("link decision not recorded: %s", exc)
    return Refusal(
        N_("Please try again later"),
        "The decision could not be recorded just now. Nothing was done; the link still works.",
        503,
        final=False,
    )


def facts(raw: Any) -> list[tuple[str, str]]:
    """The summary rows of a workflow view (query result or update result)."""
    if not isinstance(raw, dict):
        return []
    return [(k.replace("_", " "), readable(raw[k])) for k in SUMMARY_FIELDS if raw.get(k)]


def create_app(settings: Settings, client: Client | None = None) -> Starlette:
    """The ASGI application."""
    server = LinkServer(settings, client)

    def already_used(earlier: LinkUse, locale: str) -> HTMLResponse:
        refused = earlier.outcome.startswith(REFUSED)
        return server.page(
            "link_result",
            409 if refused else 200,
            locale,
            title=N_("This link was already used") if refused else N_("Already done"),
            ok=not refused,
            message=f"This link was already used on {fmt_time(earlier.used_at)}. {earlier.outcome}",
        )

    async def show(request: Request) -> Response:
        locale = await server.locale_for(request, None)
        try:
            claims = server.verify(request.path_params["token"])
            locale = await server.locale_for(request, claims.actor_id)
            earlier = await server.used(claims.nonce)
            if earlier is not None and earlier.outcome != PENDING:
                return already_used(earlier, locale)
            await server.check_open(claims)
            actor = await server.ctx.actor(claims.actor_id)
        except Refusal as r:
            return server.refusal(r, locale)
        except CliError as exc:
            return server.refusal(
                Refusal(N_("Nothing was done"), sentence(exc.message), 404), locale
            )
        label = i18n.gettext(
            locale, LABELS.get(claims.action, claims.action.replace("_", " ").title())
        )
        return server.page(
            "link_confirm",
            locale=locale,
            title=i18n.gettext(locale, N_("%(action)s: please confirm")) % {"action": label},
            label=label,
            actor=actor.name or actor.user_id,
            workflow_id=claims.workflow_id,
            expires=i18n.format_when(claims.expires_at, locale) if claims.expires_at else None,
            summary=await server.summary(claims),
        )

    async def act(request: Request) -> Response:
        try:
            claims = server.verify(request.path_params["token"])
        except Refusal as r:
            return server.refusal(r, await server.locale_for(request, None))
        locale = await server.locale_for(request, claims.actor_id)
        earlier = await server.used(claims.nonce)
        if earlier is not None and earlier.outcome != PENDING:
            return already_used(earlier, locale)
        form = await request.form()
        comment = str(form.get("comment") or "").strip()[:1000] or None
        # Used from now on, whatever comes of it: a refused link never acts later.
        await server.record(claims, claims.actor_id, PENDING)
        label = LABELS.get(claims.action, claims.action)
        try:
            await server.check_open(claims)
            try:
                actor = await server.ctx.actor(claims.actor_id)
            except CliError as exc:
                code = 404 if isinstance(exc, BadInputError) else 403
                raise Refusal(N_("Nothing was done"), sentence(exc.message), code) from None
            result = await server.decide(claims, actor, comment)
        except Refusal as r:
            if r.final:
                await server.record(claims, claims.actor_id, f"{REFUSED}{r.message}")
            return server.refusal(r, locale)
        status = result.get("status") if isinstance(result, dict) else None
        if status == "REFUSED" and claims.action not in SAYING_NO:
            reason = result.get("reason") or "a business rule refused it"
            message = f"{label} refused: {sentence(reason)}"
            await server.record(claims, claims.actor_id, f"{REFUSED}{message}")
            return server.page(
                "link_result",
                422,
                locale,
                title=N_("Refused"),
                ok=False,
                message=message,
                summary=facts(result),
            )
        outcome = f"{label} recorded" + (f"; status is now {status}." if status else ".")
        if isinstance(result, dict) and result.get("reason") and status in ("REJECTED", "REFUSED"):
            outcome += f" ({result['reason']})"
        await server.record(claims, claims.actor_id, outcome)
        return server.page(
            "link_result",
            locale=locale,
            title=N_("Done"),
            ok=True,
            message=outcome,
            summary=facts(result),
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await server.ctx.close()

    app = Starlette(
        routes=[
            Route("/a/{token}", show, methods=["GET"]),
            Route("/a/{token}", act, methods=["POST"]),
            *codec_routes(settings),
        ],
        lifespan=lifespan,
    )
    install_ops(app, ready_checks(server.ctx, server.client))
    return app


def serve(settings: Settings) -> None:
    """Runs the server with uvicorn until interrupted."""
    import uvicorn

    configure_logging(settings.effective_log_format, settings.log_level)
    configure_tracing("partnerflow-web")
    from starter.console.app import create_console_app

    mail_dir = settings.dev_mail_dir if settings.dev_mailbox else None
    uvicorn.run(
        create_console_app(settings, mail_dir=mail_dir),
        host=settings.web_host,
        port=settings.web_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # our handler and format (infra/logs.py)
        access_log=False,
    )


__all__ = ["LinkServer", "create_app", "serve"]
