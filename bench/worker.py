"""The benchmark's worker process: the product's worker (``build_worker``, same settings) with
the no-op twin ``ShapeWorkflow`` and its activity added, so that real and floor share it."""

from __future__ import annotations

import asyncio
import logging
import signal

from activities.registry import build_deps
from bench.shape_workflow import ShapeWorkflow, bench_noop
from infra.config import Settings, get_settings
from infra.db import make_engine, make_sessions
from infra.i18n import require_catalogs
from infra.temporal import connect
from worker import build_worker
from workflows.registry import ALL_WORKFLOWS


async def run(settings: Settings) -> None:
    """Polls the benchmark's task queue until SIGTERM / SIGINT."""
    require_catalogs()  # fail at once, not in every email activity
    engine = make_engine(settings.database_url)
    client = await connect(settings)
    deps = build_deps(settings, make_sessions(engine))
    worker = build_worker(
        client,
        deps,
        task_queue=settings.task_queue,
        workflows=[*ALL_WORKFLOWS, ShapeWorkflow],
        extra_activities=[bench_noop],
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print("bench worker polling", settings.task_queue, flush=True)
        await stop.wait()
    await deps.mailer.aclose()
    await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(get_settings()))
