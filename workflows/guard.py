"""The one handler-concurrency idiom of every workflow: a decision lock.

Temporal's safe-message-handlers pattern: an ``asyncio.Lock`` that an update handler holds
from its check to its effect, across the activities in between, so two decisions never
interleave; ``run()`` takes the same lock (or waits until it is free) before it acts on a
timer, and waits for ``workflow.all_handlers_finished`` before it completes.

An activity started while the lock is held gets a bounded ``schedule_to_close_timeout`` (the
workflow input's ``decision_timeout``, see :func:`bound`): one stuck activity would otherwise
hold the lock, and with it every other decision and timer of the workflow, for as long as it
retries. When the bound is reached the decision is refused with ``decision_timed_out`` and
the lock released.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from domain.errors import DecisionTimedOutError, InvariantError
    from domain.types import DECISION_TIMEOUT

T = TypeVar("T")

# The bound of the decision the current handler holds; each handler runs in its own asyncio
# task, so a value set in one handler is not seen by ``run()`` or another handler.
_BOUND: ContextVar[timedelta | None] = ContextVar("decision_bound", default=None)


def bound() -> timedelta | None:
    """``schedule_to_close_timeout`` for an activity started here: the decision timeout
    while this task holds a :class:`DecisionLock`, else None (no bound beyond the retries)."""
    return _BOUND.get()


def timed_out(err: ActivityError) -> bool:
    """True when the activity ran out of its schedule-to-close time (all attempts included)."""
    return err.retry_state == RetryState.TIMEOUT or isinstance(err.cause, ActivityTimeoutError)


class DecisionLock:
    """Serialises a workflow's decisions; bounds the activities run under it."""

    def __init__(self, timeout: timedelta = DECISION_TIMEOUT) -> None:
        self._lock = asyncio.Lock()
        self.timeout = timeout

    @property
    def held(self) -> bool:
        """True while a decision is between its check and its effect."""
        return self._lock.locked()

    @asynccontextmanager
    async def turn(self, *, bounded: bool = True) -> AsyncIterator[None]:
        """Holds the lock for the block (waiters are served in arrival order).

        In a decision (``bounded``), activities started in the block get
        ``schedule_to_close_timeout=self.timeout`` (via :func:`bound`); one that runs out of
        it ends the block with a non-retryable ``decision_timed_out`` refusal, and the lock
        is released. ``run()`` passes ``bounded=False``: its steps (reminders, expiry) are
        durable and retry until they succeed; a refusal there would fail the whole workflow.
        """
        async with self._lock:
            token = _BOUND.set(self.timeout if bounded else None)
            try:
                yield
            except ActivityError as err:
                if not timed_out(err):
                    raise
                raise DecisionTimedOutError(
                    f"a step of this decision did not finish within {self.timeout}; "
                    "nothing more was done, try again later"
                ).to_application_error() from err
            finally:
                _BOUND.reset(token)

    async def free(self) -> None:
        """Waits until no decision holds the lock (``run()`` before it acts on a timer)."""
        await workflow.wait_condition(lambda: not self.held)


def present(value: T | None, what: str) -> T:
    """``value``, or a typed ``internal_invariant`` error instead of a bare ``assert``."""
    if value is None:
        raise InvariantError(f"internal error: {what} is missing").to_application_error()
    return value


def invariant(holds: bool, what: str) -> None:
    """Raises a typed ``internal_invariant`` error when ``holds`` is false."""
    if not holds:
        raise InvariantError(f"internal error: {what}").to_application_error()
