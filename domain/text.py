"""Marking English texts that reach emails and pages, so that ``pybabel extract`` collects them.

Workflows and domain code store these texts as they are (workflow histories do not change);
the email templates translate them for the reader with the ``term`` filter, and pages with
``MarkedError.translated`` / ``error_text``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def N_(message: str) -> str:
    """``message`` unchanged; marked for the catalogs (locales/)."""
    return message


class TranslatableError(Exception):
    """An exception whose message is a marked English text with named values.

    ``str()`` is the English sentence (what the CLI and logs print, unchanged); a page or the
    API shows ``translated(...)`` in its reader's language.
    """

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self, translate: Callable[[str], str]) -> str:
        """The message through ``translate`` (a catalog lookup), with its values put in."""
        text = translate(self.message)
        return text % self.params if self.params else text


class MarkedError(TranslatableError, ValueError):
    """A validator's ValueError with a marked message (``TranslatableError``). Pydantic keeps
    the exception in an error's ``ctx["error"]``, which is how ``error_text`` finds it."""


def error_text(err: Mapping[str, Any], translate: Callable[[str], str]) -> str:
    """The message of one pydantic error for a reader: a ``MarkedError``'s in the reader's
    language, any other validator's message without pydantic's ``Value error, `` prefix."""
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, MarkedError):
        return cause.translated(translate)
    return str(err.get("msg", "")).removeprefix("Value error, ")


class MarkedText(str):
    """An English text (the string itself, what the CLI prints and JSON carries) that keeps
    its marked message and values, so that a page can show it in its reader's language
    (``infra.i18n.term``, the templates' ``term`` filter)."""

    message: str
    params: dict[str, Any]

    def __new__(cls, message: str, **params: Any) -> MarkedText:
        """``message % params`` as the string; both kept."""
        text = super().__new__(cls, message % params if params else message)
        text.message = message
        text.params = params
        return text

    @classmethod
    def worded(cls, english: str, message: str, params: dict[str, Any]) -> MarkedText:
        """A text whose English was already worded (pydantic's ``Value error, ...``): kept
        as it is, the marked message for other readers."""
        text = str.__new__(cls, english)
        text.message = message
        text.params = params
        return text

    def translated(self, translate: Callable[[str], str]) -> str:
        """The message through ``translate``, with its values put in (a value that is a
        ``MarkedText`` itself, a term such as a path's name, translated too)."""
        text = translate(self.message)
        if not self.params:
            return text
        return text % {
            k: v.translated(translate) if isinstance(v, MarkedText) else v
            for k, v in self.params.items()
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles keep the message and the values, not only the English.
        return (MarkedText.worded, (str(self), self.message, self.params))
