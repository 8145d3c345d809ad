"""The console application: sign-in, inbox, task pages, dev mailbox, and the email-link
pages and health endpoints of the link server underneath."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.routing import Mount
from temporalio.client import Client

from infra.config import Settings
from infra.mailer import TEMPLATE_DIR
from starter.console import lang, routes_auth, routes_codec, routes_dev, routes_start, routes_tasks
from starter.console import routes_cases as routes_cases
from starter.console import routes_pages as routes_pages
from starter.console.api import register as register_api
from starter.console.routes_imports import register as register_imports
from starter.console.web import Console
from starter.web.links import create_app as create_link_app

CSS = TEMPLATE_DIR / "web" / "console" / "console.css"


def create_console_app(
    settings: Settings, client: Client | None = None, mail_dir: Path | None = None
) -> FastAPI:
    """The ASGI application; ``mail_dir`` enables the dev mailbox (dev stack only)."""
    console = Console(settings, client, mail_dir)
    links = create_link_app(settings, client)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with links.router.lifespan_context(links):
            yield
        await console.ctx.close()

    app = FastAPI(
        title="PartnerFlow console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.console = console

    @app.get("/static/console.css", include_in_schema=False)
    async def css() -> Response:
        return Response(
            CSS.read_text(),
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=300"},
        )

    routes_auth.register(app, console)
    routes_tasks.register(app, console)
    routes_start.register(app, console)
    routes_cases.register(app, console)
    routes_pages.register(app, console)
    routes_dev.register(app, console)
    register_imports(app, console)
    lang.register(app, console)
    # Before the link server's mount: its /codec routes know the token only.
    routes_codec.register(app, console)
    register_api(app, console)
    # The link server keeps its paths (/a/{token}, /healthz, /readyz, /metrics): emailed
    # links already sent keep working, and a link still needs no sign-in.
    app.router.routes.append(Mount("", app=links))
    return app
