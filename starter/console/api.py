"""The JSON API under ``/api``: the console's actions for other systems, with personal tokens.

A FastAPI application mounted at ``/api`` (its own error handlers and OpenAPI document):
``/api/openapi.json`` is the contract, ``/api/docs`` lists its operations on a page served
from here (Swagger UI and ReDoc load their scripts from a CDN, which an offline
installation cannot reach). Each area is a router in ``api_<area>.py`` on the same services
as its console pages; a new area is one line in ``ROUTERS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from infra.i18n import N_
from starter.console import (
    api_cases,
    api_commands,
    api_imports,
    api_partners,
    api_payouts,
    api_schedules,
    api_tasks,
    api_workflows,
)
from starter.console.api_base import PROBLEMS, CallerDep, exception_handlers
from starter.console.web import Console

PREFIX = "/api"
# One router per area, each on its services (a new area: one line here).
ROUTERS = (
    api_tasks.router,
    api_commands.router,
    api_cases.router,
    api_workflows.router,
    api_partners.router,
    api_imports.router,
    api_payouts.router,
    api_schedules.router,
)
METHODS = ("get", "post", "put", "patch", "delete")


class TokenOut(BaseModel):
    """The token of this request (never its secret)."""

    id: int
    name: str
    prefix: str
    expires_at: datetime
    last_used_at: datetime | None


class MeOut(BaseModel):
    """Who the token acts as."""

    user_id: str
    name: str | None
    email: str | None
    role: str
    partner_id: str | None
    customer_id: str | None
    locale: str
    token: TokenOut


def operations(document: dict[str, Any]) -> list[dict[str, str]]:
    """The operations of an OpenAPI document, in its order: method, path, summary."""
    rows = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is not None:
                rows.append(
                    {
                        "method": method.upper(),
                        "path": PREFIX + path,
                        "summary": str(op.get("summary") or ""),
                        "description": str(op.get("description") or ""),
                        "tag": str((op.get("tags") or [""])[0]),
                    }
                )
    return rows


def build_api(console: Console) -> FastAPI:
    """The API application (mounted at ``/api`` by ``register``)."""
    api = FastAPI(
        title="PartnerFlow API",
        version="1",
        description=(
            "The console's actions as JSON. Authenticate with a personal token: "
            "`Authorization: Bearer <token>` (`partnerflow token create`). Errors are "
            "`application/problem+json` (RFC 9457) whose `type` is the rule id."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        exception_handlers=exception_handlers(),
    )
    api.state.console = console

    @api.middleware("http")
    async def no_store(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        # Answers name people and decisions: no shared cache may keep them.
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @api.get(
        "/me",
        response_model=MeOut,
        tags=["me"],
        summary=N_("Who the token acts as"),
        responses=PROBLEMS,
    )
    async def me(caller: CallerDep) -> MeOut:
        """The token's user, role, partner or customer, and the token itself."""
        a = caller.actor
        return MeOut(
            user_id=a.user_id,
            name=a.name,
            email=a.email,
            role=a.role.value,
            partner_id=a.partner_id,
            customer_id=a.customer_id,
            locale=caller.locale,
            token=TokenOut(
                id=caller.token.id,
                name=caller.token.name,
                prefix=caller.token.prefix,
                expires_at=caller.token.expires_at,
                last_used_at=caller.token.last_used_at,
            ),
        )

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        return console.page(
            request,
            "api_docs",
            None,
            title=N_("PartnerFlow API"),
            operations=operations(api.openapi()),
            openapi_url=PREFIX + "/openapi.json",
        )

    for router in ROUTERS:
        api.include_router(router)
    return api


def register(app: FastAPI, console: Console) -> None:
    """Mounts the API at ``/api`` (before the link server's catch-all mount)."""
    app.mount(PREFIX, build_api(console))
