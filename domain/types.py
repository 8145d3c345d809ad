"""The types every front door validates with: names, emails, ids, money and business durations.

Imports, CLI options, the link server's inputs and the workflow input models use these, so
that a value that passes the door cannot fail a workflow later (a line break in a name that
ends up in an email header, a validity so long that ``now + validity`` overflows).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, ValidationError

from domain.text import N_, MarkedError

# Longest business duration anywhere (a validity, a window, a lead time): a year and a day.
# Beyond it nothing in the partner programme makes sense, and ``now + d`` stays far from
# datetime's limits.
MAX_DURATION = timedelta(days=366)
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit
MAX_MONEY = Decimal("99999999999999.99")  # 16 digits, as the NUMERIC(16, 2) columns

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SHORT = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_BARE = re.compile(r"^\d+(?:\.\d+)?$")
_ISO = TypeAdapter(timedelta)
_NEEDS_UNIT = N_("%(value)s needs a unit, e.g. 7d, 36h, 15m, 90s or P7D")


def control_characters(value: str) -> list[str]:
    """The control characters in ``value`` (line breaks, tabs, NUL, U+2028...), as escapes."""
    return [
        repr(ch)
        for ch in value
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp")  # Cc includes \r \n \t \x00 \x85
    ]


def _no_control(value: str) -> str:
    found = control_characters(value)
    if found:
        raise MarkedError(
            N_(
                "contains control characters (%(found)s); line breaks and tabs are not allowed here"
            ),
            found=", ".join(dict.fromkeys(found)),
        )
    return value


def _name(value: str) -> str:
    value = _no_control(value).strip()
    if not value:
        raise MarkedError(N_("must not be empty"))
    if len(value) > MAX_NAME_LENGTH:
        raise MarkedError(N_("at most %(limit)s characters"), limit=MAX_NAME_LENGTH)
    return value


def _email(value: str) -> str:
    value = _no_control(value).strip()
    if len(value) > MAX_EMAIL_LENGTH:
        raise MarkedError(N_("at most %(limit)s characters"), limit=MAX_EMAIL_LENGTH)
    if not _EMAIL.match(value):
        raise MarkedError(N_("not an email address (name@example.com)"))
    return value


def _ident(value: str) -> str:
    value = value.strip()
    if not _ID.match(value):
        raise MarkedError(N_("ids are 1-64 letters, digits, '.', '_' or '-'"))
    return value


Name = Annotated[str, AfterValidator(_name)]
"""A person's or company's name: trimmed, 1-200 characters, no control characters."""
Email = Annotated[str, AfterValidator(_email)]
"""An email address: trimmed, a valid shape, no control characters or spaces."""
Ident = Annotated[str, AfterValidator(_ident)]
"""A business id (partner, customer, user, order): 1-64 letters, digits, '.', '_' or '-'."""
Money = Annotated[Decimal, Field(ge=0, le=MAX_MONEY, max_digits=16, decimal_places=2)]
"""An amount of money: non-negative, at most 2 decimal places, bounded."""
Text = Annotated[str, AfterValidator(_no_control)]
"""Free text that may end up in an email header or subject: no control characters."""


def parse_duration(value: object, *, bare_unit: str | None = None) -> timedelta:
    """``7d``, ``36h``, ``90s``, ``15m``, ``2w`` or ISO 8601 (``P7D``, ``PT36H``) -> timedelta.

    A bare number is read in ``bare_unit`` (settings named ``..._DAYS`` keep meaning days);
    without one, a bare number is refused, since "7" could mean anything. Raises ValueError
    with a message that a person can act on; the bounds are checked by ``check_duration``.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if bare_unit is None:
            raise MarkedError(_NEEDS_UNIT, value=value)
        value = f"{value}{bare_unit}"
    if not isinstance(value, str):
        raise MarkedError(N_("expected a duration like 7d, 36h, 15m, 90s or P7D"))
    text = value.strip()
    if _BARE.match(text):
        if bare_unit is None:
            raise MarkedError(_NEEDS_UNIT, value=repr(text))
        text = f"{text}{bare_unit}"
    short = _SHORT.match(text.lower())
    try:
        if short:
            return timedelta(seconds=float(short.group(1)) * _UNITS[short.group(2)])
        if text[:1].upper() == "P" or text[:2].upper() == "-P":
            return _ISO.validate_python(text.upper())
    except (OverflowError, ValidationError):
        raise MarkedError(
            N_("%(value)s is not a duration this system can hold"), value=repr(text)
        ) from None
    raise MarkedError(
        N_("%(value)s is not a duration like 7d, 36h, 15m, 90s or P7D (ISO 8601)"), value=repr(text)
    )


def check_duration(value: timedelta, *, allow_zero: bool = False) -> timedelta:
    """Refuses a duration outside (0, 366 days] (or [0, 366 days] with ``allow_zero``)."""
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        raise MarkedError(N_("must be zero or positive") if allow_zero else N_("must be positive"))
    if value > MAX_DURATION:
        raise MarkedError(
            N_("%(value)s is longer than %(limit)s days"),
            value=format_duration(value),
            limit=MAX_DURATION.days,
        )
    return value


def format_duration(value: timedelta) -> str:
    """``7d``, ``36h``, ``15m`` or ``90s``: the largest unit that divides it."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def _lenient(value: Any) -> Any:
    # Workflow inputs arrive as JSON written by pydantic (ISO 8601, or a number of seconds
    # in old histories): leave those to pydantic; read the short forms people type.
    if isinstance(value, str) and _SHORT.match(value.strip().lower()):
        return parse_duration(value)
    return value


def _bare_days(value: Any) -> timedelta:
    return parse_duration(value, bare_unit="d")


def _bare_hours(value: Any) -> timedelta:
    return parse_duration(value, bare_unit="h")


def _positive(value: timedelta) -> timedelta:
    return check_duration(value)


def _non_negative(value: timedelta) -> timedelta:
    return check_duration(value, allow_zero=True)


BusinessDuration = Annotated[timedelta, BeforeValidator(_lenient), AfterValidator(_positive)]
"""A validity, window, interval or lead time: more than zero, at most 366 days."""
BusinessOffset = Annotated[timedelta, BeforeValidator(_lenient), AfterValidator(_non_negative)]
"""An offset such as "remind N before": zero (at the moment itself) to 366 days."""


# Settings: a bare number keeps the unit of the setting's old ``_DAYS``/``_HOURS`` name.
DaysSetting = Annotated[timedelta, BeforeValidator(_bare_days), AfterValidator(_positive)]
"""A duration setting; a bare number is days."""
DaysOrZeroSetting = Annotated[timedelta, BeforeValidator(_bare_days), AfterValidator(_non_negative)]
"""An offset setting (zero allowed); a bare number is days."""
HoursSetting = Annotated[timedelta, BeforeValidator(_bare_hours), AfterValidator(_positive)]
"""A duration setting; a bare number is hours."""


DECISION_TIMEOUT = timedelta(minutes=5)
"""How long a decision may wait for its activities (all retries included) before it is
refused with ``decision_timed_out`` (workflows/guard.py); every workflow input carries it."""
