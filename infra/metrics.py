"""The product's business metrics (prometheus-client), served by the worker.

Counters are incremented at a few central points (infra/observe.py: the worker interceptor
sees every workflow start and completion and every activity result). Gauges about open
work are read from the database at scrape time (infra/metrics_db.py), so they are right
after a restart and the same on every worker: aggregate them with ``max``, not ``sum``.

Names and labels are the contract of deploy/grafana/partnerflow.json and
deploy/prometheus/alerts.yml (tests/ops/test_metrics_contract.py checks them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.process_collector import ProcessCollector

# The worker's own registry: only what this module defines, plus the process's CPU/memory.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

WORKFLOWS_STARTED = Counter(
    "partnerflow_workflows_started",
    "Workflows that began running on this worker, by workflow type.",
    ["workflow_type"],
    registry=REGISTRY,
)
WORKFLOWS_COMPLETED = Counter(
    "partnerflow_workflows_completed",
    "Workflows that ended, by type and outcome: the result's business status in lower case "
    "(accepted, expired, paid, lost, ...), or failed / cancelled / continued_as_new.",
    ["workflow_type", "outcome"],
    registry=REGISTRY,
)
EMAILS = Counter(
    "partnerflow_emails",
    "Email send attempts by template and result: sent, already_sent (a retry after the 250), "
    "retried (temporary failure, Temporal retries) or bounced (5xx: permanent).",
    ["template", "result"],
    registry=REGISTRY,
)

TASKS_OPEN = Gauge(
    "partnerflow_tasks_open",
    "Open human tasks by kind and assignee role (from the database).",
    ["kind", "role"],
    registry=REGISTRY,
)
TASKS_OVERDUE = Gauge(
    "partnerflow_tasks_overdue",
    "Open human tasks past their due time, by kind and assignee role (from the database).",
    ["kind", "role"],
    registry=REGISTRY,
)
PAYOUTS = Gauge(
    "partnerflow_payouts",
    "Incentive payouts by method and status (from the database).",
    ["method", "status"],
    registry=REGISTRY,
)
PAYOUT_AMOUNT = Gauge(
    "partnerflow_payout_amount_cny",
    "Sum of incentive payout amounts in CNY by method and status (from the database).",
    ["method", "status"],
    registry=REGISTRY,
)
RENEWAL_TASKS = Gauge(
    "partnerflow_renewal_tasks",
    "Big-order renewal tasks by status: RENEWED, LOST, OPEN, ... (from the database).",
    ["status"],
    registry=REGISTRY,
)
IMPORTS = Gauge(
    "partnerflow_imports",
    "Reference-data imports ever run, by kind and result: ok or refused (from the database: "
    "imports run in short-lived CLI processes, which record each run).",
    ["kind", "result"],
    registry=REGISTRY,
)
SCHEDULE_MISSED = Gauge(
    "partnerflow_schedule_missed_actions",
    "Actions a Temporal Schedule skipped because it missed its catch-up window (ever).",
    ["schedule"],
    registry=REGISTRY,
)
SCHEDULE_OVERDUE = Gauge(
    "partnerflow_schedule_overdue_seconds",
    "How long a Schedule's next action is past due (0 when it is on time).",
    ["schedule"],
    registry=REGISTRY,
)
SCHEDULE_PAUSED = Gauge(
    "partnerflow_schedule_paused",
    "1 when the Schedule is paused.",
    ["schedule"],
    registry=REGISTRY,
)
DB_SNAPSHOT_AGE = Gauge(
    "partnerflow_metrics_db_snapshot_timestamp_seconds",
    "When the database-derived gauges were last read (unix time).",
    registry=REGISTRY,
)

FAILURE_OUTCOMES = ("failed", "cancelled")


def preinit_workflows(workflow_types: Iterable[str | None]) -> None:
    """Creates the zero series, so that ``rate()`` and alerts see a type before its first end."""
    for name in filter(None, workflow_types):
        WORKFLOWS_STARTED.labels(name)
        for outcome in FAILURE_OUTCOMES:
            WORKFLOWS_COMPLETED.labels(name, outcome)


def replace_gauge(gauge: Gauge, values: Mapping[tuple[str, ...], float]) -> None:
    """Sets a labelled gauge to exactly ``values`` (series that vanished are removed)."""
    gauge.clear()
    for labels, value in values.items():
        gauge.labels(*labels).set(value)


def exposition() -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(REGISTRY)
