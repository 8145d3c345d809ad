"""The worker: settings -> engine -> mailer -> activity objects -> Worker."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.registry import Deps, build_activities, build_deps
from infra.config import Settings, get_settings
from infra.db import make_engine, make_sessions
from infra.temporal import connect, ensure_search_attributes
from workflows.registry import ALL_WORKFLOWS

log = logging.getLogger("partnerflow.worker")

_validated: set[str] = set()


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


def build_worker(
    client: Client,
    deps: Deps,
    *,
    task_queue: str,
    workflows: Sequence[type] | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
) -> Worker:
    """A worker with every workflow and activity (tests pass their own queue; the benchmark
    adds its no-op twin and activity, so that both run under the same worker settings)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows or ALL_WORKFLOWS),
        activities=[*build_activities(deps), *extra_activities],
        workflow_runner=ValidateOnceSandboxRunner(),
        max_concurrent_activities=100,
    )


async def run_worker(settings: Settings) -> None:
    """Runs until SIGINT/SIGTERM, then finishes in-flight activities and stops."""
    engine = make_engine(settings.database_url)
    client = await connect(settings)
    try:
        added = await ensure_search_attributes(client)
        if added:
            log.info("registered search attributes %s", ", ".join(added))
    except Exception as exc:  # an operator may have to do it on a locked-down cluster
        log.warning("could not register search attributes: %s", exc)
    deps = build_deps(settings, make_sessions(engine))
    worker = build_worker(client, deps, task_queue=settings.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
    await engine.dispose()


def main() -> None:
    """Entry point of ``python worker.py``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_worker(get_settings()))


if __name__ == "__main__":
    main()
