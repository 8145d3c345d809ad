"""A workflow that sends one email with a single attempt (for the log tests)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.notifications import EmailRequest, EmailResult


@workflow.defn
class EmailProbeWorkflow:
    """Sends ``req`` once; returns the status, or ``failed`` when the attempt failed."""

    @workflow.run
    async def run(self, req: EmailRequest) -> str:
        try:
            result = await workflow.execute_activity(
                "send_email",
                req,
                result_type=EmailResult,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError:
            return "failed"
        return str(result.status)
