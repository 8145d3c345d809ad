"""What every service call needs: settings, database, Temporal client, actors, error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from domain.parties import Actor
from domain.rules import rule_from_type
from domain.types import check_duration
from domain.types import parse_duration as parse_business_duration
from infra.config import Settings, get_settings
from infra.db import make_engine, make_sessions
from starter.services.actors import resolve_actor
from starter.services.errors import BadInputError, CliError, RefusedError
from starter.services.reach import connect_waiting

T = TypeVar("T")

# How long a start waits for the workflow's first checks before it says that no worker answers
# (as long as the status query used to be polled).
NO_WORKER_AFTER = 15.0


class AppContext:
    """Lazily opened resources of one command."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        # A front door that already holds a client (the console, given one) shares it.
        self._client: Client | None = client

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Database sessions (the engine is created on first use)."""
        if self._sessions is None:
            self._engine = make_engine(self.settings.database_url)
            self._sessions = make_sessions(self._engine)
        return self._sessions

    async def client(self) -> Client:
        """The Temporal client; an unreachable server is retried for a while, then a clear
        ``temporal_unreachable`` error (see ``starter.services.reach``)."""
        if self._client is None:
            self._client = await connect_waiting(self.settings)
        return self._client

    async def close(self) -> None:
        """Releases the database engine."""
        if self._engine is not None:
            await self._engine.dispose()

    async def actor(self, user_id: str) -> Actor:
        """Resolves ``--as USER``: an active user, or a customer id acting for itself."""
        return await resolve_actor(self.sessions, user_id)


def operator() -> str | None:
    """Who is at the keyboard, for the audit: ``PARTNERFLOW_OPERATOR``, else the OS user."""
    named = os.environ.get("PARTNERFLOW_OPERATOR", "").strip()
    if named:
        return named[:64]
    try:
        return getpass.getuser()[:64] or None
    except (OSError, KeyError):  # no login name in this environment (a bare container)
        return None


def load_settings() -> Settings:
    """Settings, with configuration mistakes reported as bad input."""
    try:
        return get_settings()
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            # Name the environment variable a person sets, not the Python field.
            loc = "_".join(str(p) for p in err["loc"])
            where = f"PARTNERFLOW_{loc.upper()}: " if loc else ""
            parts.append(f"{where}{err['msg'].removeprefix('Value error, ')}")
        raise BadInputError(
            "configuration: " + "; ".join(parts), rule="invalid_configuration"
        ) from None


def business_error(exc: BaseException) -> CliError | None:
    """The business error inside a Temporal failure, as a CLI error (None if it is not one)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ApplicationError):
            rule = rule_from_type(cause.type or "business_rule")
            if cause.details and isinstance(cause.details[0], str):
                rule = rule_from_type(cause.details[0])
            return RefusedError(cause.message, rule=rule)
        cause = cause.__cause__
    return None


@asynccontextmanager
async def temporal_errors(what: str) -> AsyncIterator[None]:
    """Turns Temporal client errors into messages a person can act on."""
    try:
        yield
    except WorkflowAlreadyStartedError as exc:
        raise RefusedError(
            f"{what}: a workflow with id {exc.workflow_id} is already running; "
            "decide or cancel it first",
            rule="already_running",
        ) from None
    except (WorkflowUpdateFailedError, WorkflowFailureError) as exc:
        err = business_error(exc)
        if err is not None:
            raise err from None
        raise CliError(f"{what} failed: {exc}") from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise RefusedError(
                f"{what}: the workflow is not running (it has finished, or the id is wrong)",
                rule="workflow_not_running",
            ) from None
        if "already completed" in exc.message:
            raise RefusedError(
                f"{what}: the workflow has already finished", rule="workflow_finished"
            ) from None
        raise CliError(f"{what}: Temporal refused the call: {exc.message}") from None


def decided_by_someone_else(
    what: str, status: str, decided_by: str | None, decided_at: datetime | None, actor: Actor
) -> RefusedError | None:
    """When two people decide at the same moment, the workflow records the first decision and
    returns it to both: the one whose decision was not recorded learns who decided, and when."""
    if decided_by is None or decided_by == actor.user_id:
        return None
    when = f" at {decided_at:%Y-%m-%d %H:%M} UTC" if decided_at else ""
    return RefusedError(
        f"{what} was already {status.lower()} by {decided_by}{when}; your decision was not "
        "recorded",
        rule="already_decided",
    )


def parse_duration(value: str, option: str, *, allow_zero: bool = False) -> timedelta:
    """``7d``, ``36h``, ``15m``, ``90s``, ``2w`` or ISO 8601 (``P7D``) -> a bounded timedelta.

    Bad input names the option: ``--validity: '99999999d' is longer than 366 days``.
    """
    try:
        return check_duration(parse_business_duration(value), allow_zero=allow_zero)
    except ValueError as exc:
        raise BadInputError(f"{option}: {exc}", rule="invalid_duration") from None


_W = TypeVar("_W")
_V = TypeVar("_V")


async def start_checked(
    client: Client,
    checked: UpdateMethodMultiParam[[_W], _V],
    start: WithStartWorkflowOperation[_W, Any],
    *,
    what: str,
    started: str,
) -> _V:
    """Starts a workflow and waits for its first checks in one call (update-with-start).

    ``checked`` is the workflow's update that answers once the checks are done; when no worker
    answers within ``NO_WORKER_AFTER`` the start is refused with ``no_worker``, naming
    ``started`` (the workflow that was started)."""
    try:
        async with temporal_errors(what):
            return await asyncio.wait_for(
                client.execute_update_with_start_workflow(checked, start_workflow_operation=start),
                NO_WORKER_AFTER,
            )
    except TimeoutError:
        raise RefusedError(
            f"{started} was started but no worker answered; is the worker running?",
            rule="no_worker",
        ) from None
    finally:
        await settle(start)


async def settle(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """Reads the start's own outcome, which the operation keeps in a future of its own: when
    the start failed (say, the workflow already runs) and nobody reads it, asyncio logs
    "Future exception was never retrieved" with the whole gRPC traceback at collection."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(start.workflow_handle(), timeout=0.1)
