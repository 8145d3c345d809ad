"""The worker: settings -> engine -> mailer -> activity objects -> Worker."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.registry import Deps, build_activities, build_deps
from infra.config import Settings, get_settings
from infra.db import make_engine, make_sessions
from infra.i18n import CatalogMissingError, require_catalogs
from infra.logs import configure_logging
from infra.metrics import preinit_workflows
from infra.observe import ObservabilityInterceptor
from infra.runtime import sdk_runtime
from infra.temporal import connect, ensure_search_attributes
from infra.tracing import configure_tracing
from infra.worker_ops import WorkerOps
from workflows.registry import ALL_WORKFLOWS

log = logging.getLogger("partnerflow.worker")

_validated: set[str] = set()

# Modules a new workflow run shares with the worker instead of importing afresh into its
# sandbox: OpenTelemetry (one copy for the tracing interceptor), and our modules without
# workflow state that hold nothing a run could change (pydantic payloads and pure rules, the
# activity definitions workflows name, and the helpers every workflow calls: activity options,
# the decision lock, whose only global is a ContextVar, per asyncio task, and the step
# records, whose operator map lives on the workflow instance). The workflows
# already import them inside ``imports_passed_through()``; listing them here covers their
# transitive imports too. What a new run still pays is executing its own workflow module
# (measured: 17% of the worker's busy time in an invitation batch, mostly temporalio resolving
# the handlers' type hints); the two helpers passed through saved 1.3 ms of worker CPU per
# invitation (103.5 -> 102.2 ms).
PASSTHROUGH_MODULES = (
    "opentelemetry",
    "domain",
    "activities",
    "workflows.common",
    "workflows.guard",
    "workflows.options",
    "workflows.steps",
)
RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)


class ValidateOnceSandboxRunner(SandboxedWorkflowRunner):
    """The standard sandbox, validating each workflow definition once per process.

    Validation imports the workflow's modules into a fresh sandbox (about 0.7 s for all
    of ours); a process that builds many workers (the test suite) need not repeat it.
    Every workflow run still executes in its own sandbox.
    """

    def prepare_workflow(self, defn: workflow._Definition) -> None:
        key = f"{defn.cls.__module__}.{defn.cls.__qualname__}"
        if key not in _validated:
            super().prepare_workflow(defn)
            _validated.add(key)


def _activity_name(fn: Callable[..., Any]) -> str:
    return activity._Definition.must_from_callable(fn).name or ""


def build_worker(
    client: Client,
    deps: Deps,
    *,
    task_queue: str,
    workflows: Sequence[type] | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    replace_activities: Sequence[Callable[..., Any]] = (),
) -> Worker:
    """A worker with every workflow and activity (tests pass their own queue; the benchmark
    adds its no-op twin and activity, so that both run under the same worker settings).

    On shutdown it stops polling and gives in-flight activities the configured grace
    period to finish before they are cancelled.
    """
    settings = deps.settings
    # A test swaps one real activity for a faulty one of the same name (a hang, a crash).
    swapped = {_activity_name(fn) for fn in replace_activities}
    activities = [fn for fn in build_activities(deps) if _activity_name(fn) not in swapped]
    defs = list(workflows or ALL_WORKFLOWS)
    preinit_workflows(workflow._Definition.must_from_class(cls).name for cls in defs)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=defs,
        activities=[*activities, *replace_activities, *extra_activities],
        workflow_runner=ValidateOnceSandboxRunner(restrictions=RESTRICTIONS),
        interceptors=[ObservabilityInterceptor()],
        max_concurrent_activities=100,
        max_concurrent_workflow_tasks=settings.worker_max_workflow_tasks,
        max_cached_workflows=settings.worker_cache,
        max_concurrent_workflow_task_polls=settings.worker_workflow_pollers,
        max_concurrent_activity_task_polls=settings.worker_activity_pollers,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
    )


async def run_worker(settings: Settings) -> None:
    """Runs until SIGINT/SIGTERM, then finishes in-flight activities and stops.

    Serves business metrics and health on ``metrics_port`` and the SDK's metrics on
    ``metrics_port + 1``.
    """
    from starter.services.errors import CliError
    from starter.stack.schedules import SCHEDULES

    configure_logging(settings.effective_log_format, settings.log_level)
    try:
        require_catalogs()
    except CatalogMissingError as exc:
        raise CliError(str(exc)) from None
    configure_tracing("partnerflow-worker")
    engine = make_engine(settings.database_url)
    try:
        runtime = sdk_runtime(f"{settings.metrics_host}:{settings.metrics_port + 1}")
    except Exception as exc:
        raise CliError(
            f"cannot serve the SDK metrics on {settings.metrics_host}:{settings.metrics_port + 1} "
            f"({exc}); choose another PARTNERFLOW_METRICS_PORT (the worker uses it and the next)"
        ) from None
    client = await connect(settings, runtime=runtime)
    try:
        added = await ensure_search_attributes(client)
        if added:
            log.info("registered search attributes %s", ", ".join(added))
    except Exception as exc:  # an operator may have to do it on a locked-down cluster
        log.warning("could not register search attributes: %s", exc)
    sessions = make_sessions(engine)
    deps = build_deps(settings, sessions)
    worker = build_worker(client, deps, task_queue=settings.task_queue)
    ops = WorkerOps(
        client=client, sessions=sessions, worker=worker, schedule_ids=[e.id for e in SCHEDULES]
    ).server(settings.metrics_host, settings.metrics_port)
    try:
        await ops.start()
    except OSError as exc:
        raise CliError(
            f"cannot serve metrics and health on {settings.metrics_host}:{settings.metrics_port} "
            f"({exc.strerror}); choose another PARTNERFLOW_METRICS_PORT"
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
    log.info(
        "metrics and health on http://%s:%d (/metrics /healthz /readyz), SDK metrics on :%d",
        settings.metrics_host,
        settings.metrics_port,
        settings.metrics_port + 1,
    )
    try:
        async with worker:
            await stop.wait()
            log.info(
                "stopping: in-flight activities have %.0f s to finish",
                settings.worker_shutdown_grace_seconds,
            )
    finally:
        await ops.stop()
        await deps.mailer.aclose()
        await engine.dispose()
    log.info("worker stopped")


def main() -> None:
    """Entry point of ``python worker.py``."""
    asyncio.run(run_worker(get_settings()))


if __name__ == "__main__":
    main()
