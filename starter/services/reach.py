"""Reaching Temporal from a command: wait a stated time for the server, then one clean error.

A command that meets a server which is restarting (the dev stack restarts a dead Temporal
server in a second or two) should not fail at once, and one that meets a server that is really
down should say so in one line, not with the Rust core's retry warnings on stderr.
"""

from __future__ import annotations

import asyncio
import logging
import time

from temporalio.client import Client

from infra.config import Settings
from infra.runtime import CORE_LOGGER
from infra.temporal import connect
from starter.services.errors import CliError

# Between connection attempts; an attempt against a closed port fails in milliseconds.
RETRY_INTERVAL = 0.5

_quiet = False


def quiet_core_logs() -> None:
    """Stops the Temporal Rust core from writing its log lines to this process's stderr.

    The core logs a WARN line for every retried gRPC call
    (``temporalio_client::retry: gRPC call ... retried 5 times``) while the server is down;
    ``infra.runtime`` forwards those lines to the ``temporalio.core`` Python logger, which a
    command silences: it reports the failure itself, in one line.
    """
    global _quiet
    if not _quiet:
        logging.getLogger(CORE_LOGGER).disabled = True
        _quiet = True


def _reason(exc: BaseException) -> str:
    """A short cause for the error line, instead of the core's nested transport error."""
    text = str(exc)
    if isinstance(exc, TimeoutError):
        return "no answer"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    if "dns error" in text or "failed to lookup address" in text:
        return "unknown host"
    return text.splitlines()[0][:160] if text else type(exc).__name__


async def connect_waiting(settings: Settings, wait_seconds: float | None = None) -> Client:
    """Connects, retrying an unreachable server for up to ``wait_seconds``
    (``PARTNERFLOW_TEMPORAL_CONNECT_WAIT_SECONDS``); then raises ``temporal_unreachable``
    with the time waited and the last cause."""
    quiet_core_logs()
    wait = settings.temporal_connect_wait_seconds if wait_seconds is None else wait_seconds
    started = time.monotonic()
    deadline = started + wait
    while True:
        # Each attempt is bounded too: a host that accepts and never answers would hang.
        budget = max(deadline - time.monotonic(), RETRY_INTERVAL)
        try:
            return await asyncio.wait_for(connect(settings), budget)
        except Exception as exc:
            last = exc
        left = deadline - time.monotonic()
        if left <= 0:
            break
        await asyncio.sleep(min(RETRY_INTERVAL, left))
    waited = time.monotonic() - started
    raise CliError(
        f"cannot reach Temporal at {settings.temporal_address} after waiting {waited:.1f} s "
        f"({_reason(last)}); is `partnerflow dev` (or the server) running? "
        "PARTNERFLOW_TEMPORAL_CONNECT_WAIT_SECONDS sets how long to wait",
        rule="temporal_unreachable",
        details={"address": settings.temporal_address, "waited_seconds": round(waited, 1)},
    ) from last
