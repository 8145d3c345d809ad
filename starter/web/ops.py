"""Operations routes of the link server: /healthz, /readyz, /metrics and request metrics.

Mounted into the app by ``install_ops`` so that the link routes stay in starter/web/links.py.
Request metrics are labelled by the route's template (``/a/{token}``), never by the raw
path: tokens are secrets and would make one series per link.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from starter.services.context import AppContext

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
REQUESTS = Counter(
    "partnerflow_http_requests",
    "Link server / console requests by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "partnerflow_http_request_duration_seconds",
    "Link server / console request latency by route template and method.",
    ["route", "method"],
    registry=REGISTRY,
)
CHECK_TIMEOUT = 3.0

# name -> a check that raises when the dependency is not usable.
ReadyChecks = dict[str, Callable[[], Awaitable[object]]]


class RequestMetrics:
    """ASGI middleware counting requests and timing them by route template."""

    def __init__(self, app: ASGIApp, routes: Callable[[], list[object]]) -> None:
        self.app = app
        self._routes = routes

    def _template(self, scope: Scope) -> str:
        for route in self._routes():
            if isinstance(route, Route) and route.matches(scope)[0] == Match.FULL:
                return route.path
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Times the request and records its status (500 when the app raised)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route, method = self._template(scope), scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(time.perf_counter() - started)


def install_ops(app: Starlette, checks: ReadyChecks) -> None:
    """Adds /healthz, /readyz and /metrics to ``app`` and the request-metrics middleware."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {exc}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(
            generate_latest(REGISTRY), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    app.router.routes.extend(
        [
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
    app.add_middleware(RequestMetrics, routes=lambda: list(app.router.routes))


def ready_checks(ctx: AppContext, client: Callable[[], Awaitable[Client]]) -> ReadyChecks:
    """The link server is ready when its database and Temporal (``client()``) answer."""

    async def database() -> None:
        async with ctx.sessions() as s:
            await s.execute(text("SELECT 1"))

    async def temporal() -> None:
        await (await client()).workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=CHECK_TIMEOUT)
        )

    return {"database": database, "temporal": temporal}
