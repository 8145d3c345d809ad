"""``partnerflow user set-password``: a console password for a user.

The password is read from a prompt (typed twice) or from stdin when it is not a terminal,
never from the command line, where other users and the shell history would see it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from starter.cli.output import emit
from starter.cli.runner import JSON_HELP, run_async
from starter.console.auth import WeakPasswordError, set_password
from starter.services.context import AppContext
from starter.services.errors import BadInputError

user_app = typer.Typer(help="Console users: passwords.", no_args_is_help=True)


def read_password() -> str:
    """From a hidden prompt (twice) on a terminal; else the first line of stdin."""
    if sys.stdin.isatty():
        first = typer.prompt("New password", hide_input=True)
        second = typer.prompt("Repeat it", hide_input=True)
        if first != second:
            raise BadInputError("the two passwords differ; nothing was changed")
        return str(first)
    return sys.stdin.readline().rstrip("\r\n")


def register(app: typer.Typer) -> None:
    """Adds ``partnerflow user``."""

    @user_app.command("set-password")
    def set_password_cmd(
        user_id: Annotated[str, typer.Argument(help="The user's id (customers sign in by link).")],
        as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    ) -> None:
        """Set or replace a user's console password (read from a prompt or stdin)."""

        async def body(ctx: AppContext) -> None:
            password = read_password()
            try:
                await set_password(ctx.sessions, user_id, password)
            except WeakPasswordError as exc:
                raise BadInputError(f"password refused: {exc}", rule="invalid_input") from None
            except LookupError as exc:
                raise BadInputError(str(exc).strip("'\""), rule="unknown_user") from None
            emit(
                {"user": user_id, "password": "set"},
                as_json,
                f"password set for {user_id}; they can sign in at the console",
            )

        run_async(as_json, body)

    app.add_typer(user_app, name="user")
