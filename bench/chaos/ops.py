"""The driver's calls to Temporal, made to ride out the faults the run injects: a server that
restarts, a worker killed in the middle of a workflow task. A transient failure (the server
unreachable, an RPC timing out) is asked again, with the same update id for an update so that
Temporal runs it once. A business refusal (an ``ApplicationError`` naming a rule) is not
retried: it is raised as ``RefusedError`` so that the run can tell refused from lost."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError
from temporalio.types import MethodAsyncSingleParam
from temporalio.workflow import UpdateMethodMultiParam

from domain.rules import is_registered
from starter.services.context import settle

V = TypeVar("V")
W = TypeVar("W")  # a workflow class
A = TypeVar("A")  # its run argument
R = TypeVar("R")  # its result

# How long a call may keep failing (or a state keep not coming) before the driver gives up on
# the case: long enough to ride out a server restart and a CPU-starved worker.
PATIENCE = 300.0
# Each query is a task on a worker; hundreds of cases polling fast would starve the workers.
# So the cases wait with updates (update-with-start of ``checked``, the answers of the steps)
# and poll only as a fallback, when an answer names a state the driver did not expect.
POLL_FIRST = 0.25
POLL_MAX = 2.0
RESENDS = 5
# Updates that failed without a rule and were sent again, by update name (for the table).
RESENT: Counter[str] = Counter()


class StuckError(Exception):
    """A workflow did not reach the state the driver waits for within ``PATIENCE``."""


class LostUpdateError(Exception):
    """An update failed for a reason that is no business rule (e.g. an activity inside its
    handler gave up): the decision was lost, which is a bug."""


class RefusedError(Exception):
    """Temporal ran an update and the workflow refused it (a business rule said no)."""

    def __init__(self, workflow_id: str, update: str, rule: str, message: str) -> None:
        super().__init__(f"{workflow_id}: {update} refused ({rule}): {message}")
        self.rule = rule


def _deadline() -> float:
    return asyncio.get_running_loop().time() + PATIENCE


async def retrying(what: str, call: Callable[[], Awaitable[V]]) -> V:
    """``call()`` until it does not fail with an RPC error, for at most ``PATIENCE`` after the
    first failure (a call may legitimately wait long: a result, an update running activities)."""
    deadline: float | None = None
    delay = 0.2
    while True:
        try:
            return await call()
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
            deadline = deadline or _deadline()
            if asyncio.get_running_loop().time() > deadline:
                raise StuckError(f"{what}: no answer in {PATIENCE:.0f}s: {exc}") from exc
        await asyncio.sleep(delay)
        delay = min(2.0, delay * 1.5)


async def start(client: Client, run: Any, arg: Any, **kw: Any) -> WorkflowHandle[Any, Any]:
    """Starts a workflow; a start that reached the server before the answer was lost is found
    again by its business id (the id is the idempotency key)."""
    wid = kw["id"]

    async def once() -> WorkflowHandle[Any, Any]:
        try:
            return await client.start_workflow(run, arg, **kw)
        except WorkflowAlreadyStartedError:
            return client.get_workflow_handle(wid)

    return await retrying(f"start {wid}", once)


async def start_checked(
    client: Client,
    run: MethodAsyncSingleParam[W, A, R],
    arg: A,
    checked: UpdateMethodMultiParam[[W], V],
    **kw: Any,
) -> tuple[WorkflowHandle[W, R], V]:
    """Starts a workflow and waits until it is ready for a decision in one call
    (update-with-start of its read-only ``checked`` update): no status polling. A start that
    reached the server before a fault took the answer is not started twice: the retry meets
    ``WorkflowAlreadyStartedError`` and attaches to the running workflow with the same update
    id, so that Temporal runs that update once. ``kw``: the start options (``id``,
    ``task_queue``, ``search_attributes``)."""
    wid: str = kw["id"]
    update_id = f"chaos-{uuid.uuid4().hex}"
    handle = client.get_workflow_handle_for(run, wid)

    async def once() -> V:
        # An operation is single-use: a new one for each attempt.
        op = WithStartWorkflowOperation(
            run, arg, id_conflict_policy=WorkflowIDConflictPolicy.FAIL, **kw
        )
        try:
            return await client.execute_update_with_start_workflow(
                checked, start_workflow_operation=op, id=update_id
            )
        except WorkflowAlreadyStartedError:
            return await handle.execute_update(checked, id=update_id)
        finally:
            await settle(op)

    return handle, await retrying(f"start {wid}", once)


async def poll(
    h: WorkflowHandle[Any, Any], query: Any, ready: Callable[[Any], bool], what: str = ""
) -> Any:
    """Queries until ``ready`` holds, backing off from 0.25 s to 2 s; a query that fails
    (no worker at the moment, the server restarting) is asked again."""
    delay = POLL_FIRST
    deadline = _deadline()
    value: Any = "no answer"
    while True:
        try:
            value = await h.query(query)
        except RPCError as exc:
            value = f"no answer ({exc})"
        else:
            if ready(value):
                return value
        if asyncio.get_running_loop().time() > deadline:
            raise StuckError(f"{h.id}: {what or 'state'} still {value!r} after {PATIENCE:.0f}s")
        await asyncio.sleep(delay)
        delay = min(POLL_MAX, delay * 1.5)


def _rule_of(exc: WorkflowUpdateFailedError) -> tuple[str, str] | None:
    """The rule id when the update was refused by a business rule: the handler (or validator)
    raised the non-retryable ``ApplicationError`` of a ``BusinessRuleError``, whose first
    detail is a registered rule id. An activity that failed inside the handler
    (``ActivityError``, whatever its cause) is not a refusal."""
    cause = exc.cause
    if not isinstance(cause, ApplicationError) or not cause.details:
        return None
    rule = cause.details[0]
    if isinstance(rule, str) and is_registered(rule):
        return rule, cause.message
    return None


def _for_now(rule: str, message: str) -> bool:
    """A refusal that asks to try again in a moment: the workflow is still checking or
    calculating. (An update is validated before the other events of its workflow task are
    applied, so it can meet that state after a query showed the next one, e.g. when a worker
    died before completing the task that moved on.)"""
    return rule == "invalid_state" and "try again in a moment" in message


async def decide(h: WorkflowHandle[Any, Any], update: Any, *args: Any) -> Any:
    """Sends an update and waits for its result, asking again with the same update id while the
    call fails in transit (``args``: the update's argument, none for a read-only "wait until
    ready" update such as ``invoices_recorded``). A refusal naming a rule raises ``RefusedError``. An update that the
    workflow ran and failed for another reason (an activity inside its handler gave up: the
    caller is told, nothing was applied) is sent again as a new decision, as a person would
    click again, at most ``RESENDS`` times; then ``LostUpdateError``. So is a refusal that says
    "try again in a moment", a second later."""
    name = getattr(update, "__name__", str(update))

    def send(update_id: str) -> Callable[[], Awaitable[Any]]:
        return lambda: h.execute_update(update, args=args, id=update_id)

    for attempt in range(RESENDS + 1):
        try:
            return await retrying(f"{h.id}: {name}", send(f"chaos-{uuid.uuid4().hex}"))
        except WorkflowUpdateFailedError as exc:
            rule = _rule_of(exc)
            if rule is not None and _for_now(*rule) and attempt < RESENDS:
                RESENT[f"{name} (try again)"] += 1
                await asyncio.sleep(1.0)
                continue
            if rule is not None:
                raise RefusedError(h.id, name, *rule) from exc
            RESENT[name] += 1
            if attempt == RESENDS:
                raise LostUpdateError(f"{h.id}: {name} failed, not refused: {exc.cause!r}") from exc
    raise AssertionError("unreachable")


async def result(h: WorkflowHandle[Any, Any]) -> Any:
    """The workflow's result, waiting through server restarts."""
    return await retrying(f"{h.id}: result", lambda: h.result())
