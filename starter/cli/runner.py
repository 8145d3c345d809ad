"""How a CLI command runs: one asyncio run of its body, every failure mapped to the exit-code
contract (0 ok, 1 refused, 2 bad input), never a traceback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any

import typer
from pydantic import ValidationError

from starter.cli.output import flush_json_output, hold_json_output, report_error
from starter.services.context import AppContext, load_settings
from starter.services.errors import BadInputError, CliError

JSON_HELP = "Print one JSON document on stdout instead of text."
DURATION_HELP = "7d, 36h, 15m, 90s or ISO 8601 (P7D, PT36H); more than zero, at most 366d"


def run_async(as_json: bool, fn: Callable[[AppContext], Coroutine[Any, Any, None]]) -> None:
    """Runs a command body; maps every failure to the exit-code contract, never a traceback."""

    async def main() -> None:
        ctx = AppContext(load_settings())
        try:
            await fn(ctx)
        finally:
            await ctx.close()

    hold_json_output()
    try:
        asyncio.run(main())
        flush_json_output()
    except CliError as exc:
        raise typer.Exit(report_error(exc, as_json)) from None
    except ValidationError as exc:
        raise typer.Exit(
            report_error(BadInputError(_validation_message(exc), rule="invalid_input"), as_json)
        ) from None
    except typer.Exit:
        flush_json_output()
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if os.environ.get("PARTNERFLOW_DEBUG"):
            raise
        raise typer.Exit(
            report_error(
                CliError(
                    f"unexpected {type(exc).__name__}: {exc} "
                    "(run again with PARTNERFLOW_DEBUG=1 to see where)",
                    rule="internal_error",
                ),
                as_json,
            )
        ) from None


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
