"""``partnerflow token``: personal tokens for the JSON API (create, list, revoke).

``create`` prints the token once; only its digest is stored, so a lost token is revoked and
replaced, never shown again.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from starter.cli.output import console, emit
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.services.context import AppContext, parse_duration
from starter.services.tokens import TokenInfo, create_token, list_tokens, revoke_token

token_app = typer.Typer(
    help="Personal API tokens: `Authorization: Bearer <token>` on /api (docs/api.md).",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def token_dict(info: TokenInfo) -> dict[str, Any]:
    """A token's facts for ``--json`` (never the secret)."""
    return {
        "id": info.id,
        "user": info.user_id,
        "name": info.name,
        "prefix": info.prefix,
        "state": info.state,
        "created_at": info.created_at,
        "expires_at": info.expires_at,
        "last_used_at": info.last_used_at,
        "revoked_at": info.revoked_at,
    }


def _print_tokens(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no API tokens")
        return
    for t in rows:
        used = (
            f"last used {t['last_used_at']:%Y-%m-%d %H:%M}" if t["last_used_at"] else "never used"
        )
        console.print(
            f"#{t['id']:<5} {t['state']:<8} {t['prefix']}…  {t['user']:<16} "
            f"expires {t['expires_at']:%Y-%m-%d}  {used}  {t['name']}",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Adds ``partnerflow token``."""

    @token_app.command("create")
    def create(
        user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
        name: Annotated[str, typer.Option("--name", help="What the token is for.")],
        expires: Annotated[
            str | None,
            typer.Option(
                "--expires",
                help=f"Valid for this long (default PARTNERFLOW_API_TOKEN_TTL, 90d): "
                f"{DURATION_HELP}.",
            ),
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Make a token for a user and print it once (it is stored as a digest)."""

        async def body(ctx: AppContext) -> None:
            ttl = (
                parse_duration(expires, "--expires")
                if expires is not None
                else ctx.settings.api_token_ttl
            )
            made = await create_token(ctx.sessions, user, name, ttl)
            data = {**token_dict(made.info), "token": made.token}
            emit(
                data,
                as_json,
                f"API token #{made.info.id} for {user} ({name}), valid until "
                f"{made.info.expires_at:%Y-%m-%d %H:%M} UTC:\n\n  {made.token}\n\n"
                "Copy it now: it is not stored and cannot be shown again. Send it as\n"
                "  Authorization: Bearer <token>",
            )

        run_async(as_json, body)

    @token_app.command("list")
    def list_(
        user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
        as_json: Json = False,
    ) -> None:
        """The tokens (never their secrets): state, expiry, last use."""

        async def body(ctx: AppContext) -> None:
            rows = [token_dict(t) for t in await list_tokens(ctx.sessions, user)]
            emit(rows, as_json, lambda: _print_tokens(rows))

        run_async(as_json, body)

    @token_app.command("revoke")
    def revoke(
        token_id: Annotated[int, typer.Argument(help="The token's id (`token list`).")],
        as_json: Json = False,
    ) -> None:
        """Revoke a token: the API refuses it from now on."""

        async def body(ctx: AppContext) -> None:
            info = await revoke_token(ctx.sessions, token_id)
            emit(
                token_dict(info),
                as_json,
                f"API token #{info.id} ({info.name}) of {info.user_id} revoked at "
                f"{info.revoked_at:%Y-%m-%d %H:%M} UTC",
            )

        run_async(as_json, body)

    app.add_typer(token_app, name="token")
