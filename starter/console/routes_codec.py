"""The codec server on the console: the Temporal UI's browser decodes payloads with the
console's session cookie of signed-in operations staff; the CLI keeps the bearer token.

The routes are those of infra/codec_server.py, registered ahead of the link server's mount
so that ``/codec/*`` on the console always wants a token or an operations session.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request

from domain.parties import Role
from infra.codec_server import Caller, codec_routes
from starter.console.web import Console


def register(app: FastAPI, c: Console) -> None:
    """Adds ``/codec/decode`` and ``/codec/encode`` with the console's session check."""

    async def caller(request: Request) -> tuple[Caller, str]:
        viewer = await c.viewer(request)
        if viewer is None:
            return Caller.NOBODY, "-"
        who = f"{viewer.actor.user_id} ({viewer.actor.role})"
        # Payloads hold every party's personal data: only vendor operations may read them.
        return (Caller.ALLOWED if viewer.actor.role == Role.OPS else Caller.NOT_ALLOWED), who

    app.router.routes.extend(codec_routes(c.settings, session=caller))
