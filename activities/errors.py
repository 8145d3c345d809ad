"""Turns domain errors into non-retryable Temporal errors at the activity boundary."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from domain.errors import BusinessRuleError

P = ParamSpec("P")
R = TypeVar("R")


def business_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Raises a ``BusinessRuleError`` as ``ApplicationError(type=..., non_retryable=True)``."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except BusinessRuleError as exc:
            raise exc.to_application_error() from exc

    return wrapper
