"""The codec server: ``POST /codec/decode`` and ``/codec/encode`` in the Temporal UI / CLI
remote-codec protocol, so that people allowed to see personal data can read the encrypted
payloads (the Temporal UI's ``--ui-codec-endpoint``, or ``temporal workflow show
--codec-endpoint URL --codec-auth "Bearer TOKEN"``).

Routes for any Starlette app: the link server mounts them today, the console can mount the same
list later. Access: the bearer token ``PARTNERFLOW_CODEC_TOKEN``. Without a token the endpoints
answer in dev and test only, where everything is encrypted with the public dev key anyway;
in production they stay closed until a token is set.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

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


def codec_routes(settings: Settings, payload_codec: PayloadCodec | None = None) -> list[Route]:
    """``/codec/decode`` and ``/codec/encode`` (POST, and OPTIONS for the browser's preflight)."""
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

    def refusal(request: Request) -> Response | None:
        if closed:
            return JSONResponse(
                {"error": "the codec server is closed: set PARTNERFLOW_CODEC_TOKEN to open it"},
                status_code=403,
                headers=cors(request),
            )
        if token is None:
            return None
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse(
                {"error": "a bearer token (PARTNERFLOW_CODEC_TOKEN) is required"},
                status_code=401,
                headers={**cors(request), "WWW-Authenticate": "Bearer"},
            )
        return None

    def endpoint(
        name: str, apply: Callable[[list[Payload]], Awaitable[list[Payload]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=cors(request))
            refused = refusal(request)
            if refused is not None:
                return refused
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
                "codec %s: %d payloads, namespace %s, from %s",
                name,
                len(done),
                request.headers.get("x-namespace", "-"),
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
