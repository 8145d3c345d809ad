"""The CLI contract: one JSON document with ``--json``; exit 0 ok, 1 refused, 2 bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from rich.console import Console

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    """Ends the command with a message a person can act on and an exit code."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str, *, rule: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.details = details


class RefusedError(CliError):
    """A business rule refused the request (exit 1)."""

    exit_code = EXIT_REFUSED


class BadInputError(CliError):
    """The input is malformed or names something that does not exist (exit 2)."""

    exit_code = EXIT_BAD_INPUT


def to_jsonable(obj: Any) -> Any:
    """Pydantic models, enums, decimals and datetimes as plain JSON values."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    return obj


def emit(data: Any, as_json: bool, human: Callable[[], None] | str | None = None) -> None:
    """Prints the result: JSON on stdout, or the human rendering."""
    if as_json:
        sys.stdout.write(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2) + "\n")
        return
    if callable(human):
        human()
    elif isinstance(human, str):
        console.print(human)
    else:
        console.print_json(json.dumps(to_jsonable(data), ensure_ascii=False))


def report_error(exc: CliError, as_json: bool) -> int:
    """Prints the error (JSON on stdout with --json, else on stderr) and returns the code."""
    if as_json:
        doc = {"error": exc.message, "rule": exc.rule, "exit_code": exc.exit_code}
        if exc.details is not None:
            doc["details"] = to_jsonable(exc.details)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        label = "refused" if isinstance(exc, RefusedError) else "error"
        err_console.print(f"[bold red]{label}:[/] {exc.message}")
    return exc.exit_code
