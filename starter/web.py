"""The link server: signed action links from emails (and, later, the approver console).

GET shows a confirmation page and decides nothing, so mail scanners that prefetch links do
no harm; POST runs the workflow update with the link's nonce as the update id, so a double
submit is one decision. A link is single use: after it acted, it shows what it did.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from temporalio.client import Client

from domain.parties import Decision
from infra.config import Settings
from infra.db import insert_ignore, utcnow
from infra.links import InvalidLinkError, LinkClaims, LinkSigner
from infra.logs import configure_logging
from infra.mailer import TEMPLATE_DIR
from infra.tables import LinkUse
from infra.tracing import configure_tracing
from starter.app import AppContext, temporal_errors
from starter.output import CliError
from starter.web_ops import install_ops, ready_checks

LABELS = {
    "accept": "Accept",
    "decline": "Decline",
    "approve": "Approve",
    "reject": "Reject",
    "cancel": "Cancel",
    "sign": "Sign",
    "join": "Join",
    "review_approve": "Approve the business information",
    "review_reject": "Reject the business information",
    "sign_partner_agreement": "Sign the partner agreement",
    "sign_integrity_commitment": "Sign the integrity commitment",
    "unlock": "Unlock",
    "withdraw": "Withdraw",
    "revoke": "Revoke",
}
SUMMARY_FIELDS = ("status", "partner_id", "customer_id", "mode", "expires_at", "reason")


class LinkServer:
    """Resources of the running server."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.ctx = AppContext(settings)
        self.signer = LinkSigner(settings.link_secret, settings.public_base_url)
        self._client = client
        self.pages = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(default=True)
        )

    async def client(self) -> Client:
        """The Temporal client (given, or connected on first use)."""
        if self._client is None:
            self._client = await self.ctx.client()
        return self._client

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Renders a page template."""
        html = self.pages.get_template(f"web/{name}.html.j2").render(**context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def error(self, message: str, status: int) -> HTMLResponse:
        """A page that explains why nothing happened."""
        return self.page(
            "link_result", status, title="Nothing was done", ok=False, message=message, summary=[]
        )

    async def summary(self, workflow_id: str) -> list[tuple[str, str]]:
        """A few facts from the workflow's ``status`` query, for the confirmation page."""
        try:
            client = await self.client()
            raw = await client.get_workflow_handle(workflow_id).query("status")
        except Exception:
            return []
        if not isinstance(raw, dict):
            return []
        return [(k.replace("_", " "), str(raw[k])) for k in SUMMARY_FIELDS if raw.get(k)]

    async def used(self, nonce: str) -> LinkUse | None:
        """The earlier use of this link, if any."""
        async with self.ctx.sessions() as s:
            row: LinkUse | None = await s.scalar(select(LinkUse).where(LinkUse.nonce == nonce))
            return row

    def verify(self, token: str) -> LinkClaims:
        """The link's claims; InvalidLinkError when forged or expired."""
        return self.signer.verify(token)


def create_app(settings: Settings, client: Client | None = None) -> Starlette:
    """The ASGI application."""
    server = LinkServer(settings, client)

    async def show(request: Request) -> Response:
        try:
            claims = server.verify(request.path_params["token"])
        except InvalidLinkError as exc:
            return server.error(str(exc).capitalize() + ".", 400)
        earlier = await server.used(claims.nonce)
        if earlier is not None:
            return server.page(
                "link_result",
                title="This link was already used",
                ok=True,
                message=f"It was used on {earlier.used_at:%Y-%m-%d %H:%M} UTC: {earlier.outcome}",
                summary=[],
            )
        try:
            actor = await server.ctx.actor(claims.actor_id)
        except CliError as exc:
            return server.error(exc.message, 404)
        label = LABELS.get(claims.action, claims.action.replace("_", " ").title())
        return server.page(
            "link_confirm",
            title=f"{label}: please confirm",
            label=label,
            actor=actor.name or actor.user_id,
            workflow_id=claims.workflow_id,
            summary=await server.summary(claims.workflow_id),
        )

    async def act(request: Request) -> Response:
        try:
            claims = server.verify(request.path_params["token"])
        except InvalidLinkError as exc:
            return server.error(str(exc).capitalize() + ".", 400)
        earlier = await server.used(claims.nonce)
        if earlier is not None:
            return server.page(
                "link_result", title="Already done", ok=True, message=earlier.outcome, summary=[]
            )
        form = await request.form()
        comment = str(form.get("comment") or "").strip()[:1000] or None
        try:
            actor = await server.ctx.actor(claims.actor_id)
            client = await server.client()
            handle = client.get_workflow_handle(claims.workflow_id)
            async with temporal_errors(claims.action):
                result = await handle.execute_update(
                    claims.action,
                    Decision(actor=actor, nonce=claims.nonce, comment=comment),
                    id=claims.nonce,
                )
        except CliError as exc:
            if exc.rule in ("workflow_finished", "workflow_not_running"):
                facts = dict(await server.summary(claims.workflow_id))
                if "status" in facts:
                    reason = f" ({facts['reason']})" if facts.get("reason") else ""
                    return server.error(f"This is already {facts['status'].lower()}{reason}.", 409)
            return server.error(exc.message, 409)
        status = result.get("status") if isinstance(result, dict) else None
        label = LABELS.get(claims.action, claims.action)
        outcome = f"{label} recorded" + (f"; status is now {status}" if status else "")
        if isinstance(result, dict) and result.get("reason") and status in ("REFUSED", "REJECTED"):
            outcome += f" ({result['reason']})"
        async with server.ctx.sessions.begin() as s:
            await s.execute(
                insert_ignore(s, LinkUse, ["nonce"]).values(
                    nonce=claims.nonce,
                    workflow_id=claims.workflow_id,
                    action=claims.action,
                    actor=actor.user_id,
                    outcome=outcome,
                    used_at=utcnow(),
                )
            )
        summary = (
            [(k.replace("_", " "), str(result[k])) for k in SUMMARY_FIELDS if result.get(k)]
            if isinstance(result, dict)
            else []
        )
        return server.page("link_result", title="Done", ok=True, message=outcome, summary=summary)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await server.ctx.close()

    app = Starlette(
        routes=[
            Route("/a/{token}", show, methods=["GET"]),
            Route("/a/{token}", act, methods=["POST"]),
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
    uvicorn.run(
        create_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # our handler and format (infra/logs.py)
        access_log=False,
    )


__all__ = ["LinkServer", "create_app", "serve"]
