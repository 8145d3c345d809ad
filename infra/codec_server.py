"""The codec server: ``POST /codec/decode`` and ``/codec/encode`` in the Temporal UI / CLI
remote-codec protocol, so that people allowed to see personal data can read the encrypted
payloads (the Temporal UI's ``--ui-codec-endpoint``, or ``temporal workflow show
--codec-endpoint URL --codec-auth "Bearer TOKEN"``).

Routes for any Starlette app. On the link server alone the access is the bearer token
``PARTNERFLOW_CODEC_TOKEN``; without a token the endpoints answer in dev and test only, where
everything is encrypted with the public dev key anyway, and in production they stay closed
until a token is set. The console mounts the same routes with a ``session`` check: there a
request needs either the bearer token (the CLI) or a signed-in operations session (the
browser of the Temporal UI, which sends the console's cookie when its codec endpoint is set
to include cross-origin credentials), in every environment.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from enum import Enum

from google.protobuf.json_format import MessageToJson, Parse, ParseError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from infra.codec import UnknownCodecKeyError, codec
from infra.config import Settings

log = logging.getLogger("partnerflow.codec")
# Temporal refuses payloads above 2 MB; a request this large is not a history's payloads.
MAX_BODY_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


class Caller(Enum):
    """Who a request's session cookie belongs to, as far as decoding goes."""

    NOBODY = "nobody"  # no cookie, or no live session behind it
    NOT_ALLOWED = "not_allowed"  # signed in, but not in a role that may read payloads
    ALLOWED = "allowed"  # signed-in operations staff


SessionCheck = Callable[[Request], Awaitable[tuple[Caller, str]]]


def codec_routes(
    settings: Settings,
    payload_codec: PayloadCodec | None = None,
    session: SessionCheck | None = None,
) -> list[Route]:
    """``/codec/decode`` and ``/codec/encode`` (POST, and OPTIONS for the browser's preflight).

    ``session`` (the console's) tells who the cookie of a request without a bearer token is,
    with a name for the audit line; given, no request is answered without one or the other.
    """
    the_codec = payload_codec or codec(settings)
    token = settings.codec_token.get_secret_value() if settings.codec_token else None
    closed = token is None and settings.environment == "production"
    origins = {o.strip().rstrip("/") for o in settings.codec_cors_origins.split(",") if o.strip()}

    def cors(request: Request) -> dict[str, str]:
        # Only the configured UI origins may read the answers from a browser.
        origin = request.headers.get("origin", "").rstrip("/")
        if origin not in origins:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }

    def refused(request: Request, status: int, error: str) -> Response:
        headers = cors(request)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse({"error": error}, status_code=status, headers=headers)

    def bearer_ok(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return token is not None and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def session_refusal(request: Request) -> tuple[Response | None, str]:
        # The console: the CLI's bearer token, or an operations session; never open.
        assert session is not None
        if request.headers.get("authorization"):
            if bearer_ok(request):
                return None, "bearer token"
            return refused(request, 401, "the bearer token is not the codec token"), "-"
        caller, who = await session(request)
        if caller is Caller.NOBODY:
            return refused(request, 401, "sign in to the console, or send the codec token"), "-"
        if caller is Caller.NOT_ALLOWED:
            return refused(request, 403, "only operations staff may decode payloads"), who
        origin = request.headers.get("origin", "").rstrip("/")
        # A cookie rides along with any same-site request: only the UI's origins (or a
        # client that sends no Origin, not a page) may use it here.
        if origin and origin not in origins:
            return refused(request, 403, f"origin {origin} may not use the session"), who
        return None, who

    async def refusal(request: Request) -> tuple[Response | None, str]:
        if session is not None:
            return await session_refusal(request)
        if closed:
            error = "the codec server is closed: set PARTNERFLOW_CODEC_TOKEN to open it"
            return refused(request, 403, error), "-"
        if token is None:
            return None, "open (no token set)"
        if not bearer_ok(request):
            error = "a bearer token (PARTNERFLOW_CODEC_TOKEN) is required"
            return refused(request, 401, error), "-"
        return None, "bearer token"

    def endpoint(
        name: str, apply: Callable[[list[Payload]], Awaitable[list[Payload]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=cors(request))
            refusal_answer, who = await refusal(request)
            if refusal_answer is not None:
                if who != "-":
                    log.warning("codec %s refused to %s", name, who)
                return refusal_answer
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": "request too large"}, 413, headers=cors(request))
            try:
                payloads = Parse(body or b"{}", Payloads())
            except ParseError as exc:
                return JSONResponse(
                    {"error": f"not a JSON Payloads message: {exc}"}, 400, headers=cors(request)
                )
            try:
                done = await apply(list(payloads.payloads))
            except UnknownCodecKeyError as exc:
                return JSONResponse({"error": str(exc)}, 422, headers=cors(request))
            # Who decoded what is worth an audit line; the payloads themselves are not.
            log.info(
                "codec %s: %d payloads, namespace %s, for %s, from %s",
                name,
                len(done),
                request.headers.get("x-namespace", "-"),
                who,
                request.client.host if request.client else "-",
            )
            return Response(
                MessageToJson(Payloads(payloads=done)),
                media_type="application/json",
                headers=cors(request),
            )

        return handle

    return [
        Route("/codec/decode", endpoint("decode", the_codec.decode), methods=["POST", "OPTIONS"]),
        Route("/codec/encode", endpoint("encode", the_codec.encode), methods=["POST", "OPTIONS"]),
    ]
