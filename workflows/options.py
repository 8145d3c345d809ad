"""The options every workflow's activities share: retries and the per-attempt timeout."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.errors import BUSINESS_ERROR_TYPES

# Transient faults (database busy, SMTP 4xx, network) retry with backoff; business errors don't.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=BUSINESS_ERROR_TYPES,
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
