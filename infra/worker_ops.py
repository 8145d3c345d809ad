"""The worker's operations endpoints: business metrics, liveness and readiness.

``/metrics`` (business metrics, gauges refreshed from the database and the Schedules at
most every few seconds), ``/healthz`` (the process answers) and ``/readyz`` (the database
answers, and Temporal lists this worker among the pollers of its task queue) are served on
``metrics_port``; the SDK's own metrics are on ``metrics_port + 1`` (infra/runtime.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import Worker

from infra import metrics
from infra.metrics_db import refresh_db_gauges, refresh_schedule_gauges
from infra.ops_server import METRICS_CONTENT_TYPE, OpsServer, Response, json_response

log = logging.getLogger("partnerflow.ops")
REFRESH_EVERY = 5.0  # seconds; several scrapers must not each run the queries
CHECK_TIMEOUT = 3.0


class WorkerOps:
    """The endpoints of one worker process."""

    def __init__(
        self,
        *,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        worker: Worker,
        schedule_ids: Sequence[str],
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._worker = worker
        self._schedule_ids = list(schedule_ids)
        self._refreshed = 0.0
        self._lock = asyncio.Lock()

    def server(self, host: str, port: int) -> OpsServer:
        """The HTTP server for these endpoints."""
        return OpsServer(
            host, port, {"/metrics": self.metrics, "/healthz": self.healthz, "/readyz": self.readyz}
        )

    async def metrics(self) -> Response:
        """The business metrics, with the gauges refreshed if they are older than a few s."""
        async with self._lock:
            if time.monotonic() - self._refreshed > REFRESH_EVERY:
                try:
                    async with self._sessions() as s:
                        await asyncio.wait_for(refresh_db_gauges(s), CHECK_TIMEOUT * 2)
                    await asyncio.wait_for(
                        refresh_schedule_gauges(self._client, self._schedule_ids), CHECK_TIMEOUT
                    )
                    self._refreshed = time.monotonic()
                except Exception as exc:  # serve the counters even when the DB is down
                    log.warning("could not refresh the business gauges: %s", exc)
        return 200, METRICS_CONTENT_TYPE, metrics.exposition()

    async def healthz(self) -> Response:
        """Liveness: the event loop answers and the worker has not stopped."""
        if self._worker.is_shutdown:
            return json_response(503, {"ok": False, "reason": "worker stopped"})
        return json_response(200, {"ok": True})

    async def readyz(self) -> Response:
        """Readiness: database, Temporal, and this worker polling its task queue."""
        checks: dict[str, str] = {}
        try:
            async with self._sessions() as s:
                await asyncio.wait_for(s.execute(text("SELECT 1")), CHECK_TIMEOUT)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"{type(exc).__name__}: {exc}"
        try:
            checks["polling"] = "ok" if await self.polling() else "not polling yet"
            checks["temporal"] = "ok"
        except Exception as exc:
            checks["temporal"] = f"{type(exc).__name__}: {exc}"
        ready = all(v == "ok" for v in checks.values()) and len(checks) == 3
        return json_response(200 if ready else 503, {"ready": ready, "checks": checks})

    async def polling(self) -> bool:
        """Whether Temporal lists this worker among its task queue's workflow pollers."""
        if not self._worker.is_running or self._worker.is_shutdown:
            return False
        resp = await self._client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self._client.namespace,
                task_queue=TaskQueue(name=self._worker.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            timeout=timedelta(seconds=CHECK_TIMEOUT),
        )
        return any(p.identity == self._client.identity for p in resp.pollers)
