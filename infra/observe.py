"""The worker interceptor that feeds the business metrics and the log context.

One central place instead of increments in every workflow: it sees every workflow start
and end (outside replay) and every activity result.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from infra import metrics as m

# The running activity's idempotency key (its input's ``key``), for log lines.
IDEMPOTENCY_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "partnerflow_idempotency_key", default=None
)
EMAIL_ACTIVITY = "send_email"
log = logging.getLogger("partnerflow.activity")


def workflow_outcome(result: Any) -> str:
    """The business status of a workflow result in lower case, or ``completed``."""
    status = getattr(result, "status", None)
    if status is None:
        return "completed"
    return str(getattr(status, "value", status)).lower()


class ObservabilityInterceptor(Interceptor):
    """Counts workflows and emails; sets the idempotency key for the activity's log lines."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Wraps every activity."""
        return _ActivityObserver(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        """Wraps every workflow run."""
        return _WorkflowObserver


class _ActivityObserver(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        arg = input.args[0] if input.args else None
        key = getattr(arg, "key", None)
        token = IDEMPOTENCY_KEY.set(key if isinstance(key, str) else None)
        try:
            result = await super().execute_activity(input)
        except BaseException as exc:
            outcome = _email_failure(exc)
            _count_email(arg, outcome)
            # Logged here, in the activity's context, so the line carries the idempotency key.
            log.warning(
                "attempt %d failed (%s): %s: %s",
                activity.info().attempt,
                "permanent" if outcome == "bounced" else "Temporal retries it",
                type(exc).__name__,
                exc,
            )
            raise
        finally:
            IDEMPOTENCY_KEY.reset(token)
        _count_email(arg, str(getattr(result, "status", "sent")))
        return result


def _email_failure(exc: BaseException) -> str:
    if isinstance(exc, ApplicationError) and (
        exc.non_retryable or exc.type == "PermanentDeliveryError"
    ):
        return "bounced"
    return "retried"


def _count_email(arg: Any, result: str) -> None:
    if activity.info().activity_type != EMAIL_ACTIVITY:
        return
    template = str(getattr(arg, "template", "unknown"))
    m.EMAILS.labels(template, result).inc()


class _WorkflowObserver(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        wf_type = workflow.info().workflow_type
        # Replays (a new worker, an evicted cache) re-run the code: count only live progress.
        if not workflow.unsafe.is_replaying():
            m.WORKFLOWS_STARTED.labels(wf_type).inc()
        try:
            result = await super().execute_workflow(input)
        except workflow.ContinueAsNewError:
            _count_end(wf_type, "continued_as_new")
            raise
        except FailureError:
            _count_end(wf_type, "failed")
            raise
        except asyncio.CancelledError:
            _count_end(wf_type, "cancelled")
            raise
        _count_end(wf_type, workflow_outcome(result))
        return result


def _count_end(wf_type: str, outcome: str) -> None:
    if not workflow.unsafe.is_replaying():
        m.WORKFLOWS_COMPLETED.labels(wf_type, outcome).inc()
