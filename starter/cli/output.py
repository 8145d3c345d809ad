"""The CLI contract: one JSON document with ``--json``; exit 0 ok, 1 refused, 2 bad input."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console

from domain.text import N_
from infra import i18n
from starter.services.errors import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_REFUSED,
    BadInputError,
    CliError,
    RefusedError,
)
from starter.services.jsonable import to_jsonable

# Re-exported: the CLI contract names them, the services raise and build them.
__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "BadInputError",
    "CliError",
    "RefusedError",
    "to_jsonable",
]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class _JsonDocument:
    """The one JSON document a command prints, held until the command has finished.

    A command that shows a view and then refuses (an acceptance refused by the re-checked
    rules, a wrong amount entered) would otherwise print two documents; held back, the view
    goes into the error document's ``details`` instead.
    """

    def __init__(self) -> None:
        self.held = False
        self.data: Any = None
        self.has_data = False

    def begin(self) -> None:
        """From now on, ``emit`` holds the document instead of printing it."""
        self.held, self.data, self.has_data = True, None, False

    def take(self) -> tuple[bool, Any]:
        """The held document (if any), and stop holding."""
        out = (self.has_data, self.data)
        self.held, self.data, self.has_data = False, None, False
        return out


_document = _JsonDocument()


def hold_json_output() -> None:
    """Holds ``--json`` output until ``flush_json_output`` or ``report_error`` (one document)."""
    _document.begin()


def flush_json_output() -> None:
    """Prints the held JSON document, if a command emitted one."""
    has_data, data = _document.take()
    if has_data:
        _write_json(data)


def _write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2) + "\n")


def emit(data: Any, as_json: bool, human: Callable[[], None] | str | None = None) -> None:
    """Prints the result: JSON on stdout, or the human rendering."""
    if as_json:
        if _document.held:
            _document.data, _document.has_data = data, True
        else:
            _write_json(data)
        return
    if callable(human):
        human()
    elif isinstance(human, str):
        console.print(human)
    else:
        console.print_json(json.dumps(to_jsonable(data), ensure_ascii=False))


class _Language:
    """The language of this command's messages: ``--lang``, else the shell's locale."""

    chosen: str | None = None


_language = _Language()


def set_language(option: str | None) -> None:
    """Called by the root ``--lang`` option; ``None`` leaves it to LC_ALL / LC_MESSAGES / LANG."""
    _language.chosen = i18n.cli_locale(option, os.environ) if option else None


def language() -> str:
    """``zh-CN`` or ``en``."""
    return _language.chosen or i18n.cli_locale(None, os.environ)


def report_error(exc: CliError, as_json: bool) -> int:
    """Prints the error (JSON on stdout with --json, else on stderr) and returns the code.

    The message is in the command's language; the rule id never changes. A message shown in
    another language than English keeps the detailed English one in ``detail``.
    """
    has_view, view = _document.take()
    locale = language()
    message = i18n.refusal_message(exc.rule, exc.message, locale)
    if as_json:
        doc: dict[str, Any] = {"error": message, "rule": exc.rule, "exit_code": exc.exit_code}
        if message != exc.message:
            doc["detail"] = exc.message
        details = exc.details if exc.details is not None else (view if has_view else None)
        if details is not None:
            doc["details"] = to_jsonable(details)
        _write_json(doc)
    else:
        label = i18n.gettext(
            locale, N_("refused") if isinstance(exc, RefusedError) else N_("error")
        )
        err_console.print(f"[bold red]{label}:[/] {message}")
        if message != exc.message:
            # The rule's message names the rule; the detail says which row, field or amount.
            detail = i18n.gettext(locale, N_("detail"))
            err_console.print(f"  {detail}: {exc.message}")
    return exc.exit_code
