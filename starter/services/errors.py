"""The errors every service raises: a message a person can act on, the rule, an exit code.

Front doors map them: the CLI to its exit codes (0 ok, 1 refused, 2 bad input), the web to a
page that says what was refused and what to do instead.
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """Ends the command with a message a person can act on and an exit code."""

    exit_code = EXIT_REFUSED
    default_rule = "internal_error"

    def __init__(self, message: str, *, rule: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule or self.default_rule
        self.details = details


class RefusedError(CliError):
    """A business rule refused the request (exit 1)."""

    exit_code = EXIT_REFUSED
    default_rule = "refused"


class BadInputError(CliError):
    """The input is malformed or names something that does not exist (exit 2)."""

    exit_code = EXIT_BAD_INPUT
    default_rule = "invalid_input"
