"""The Temporal SDK runtime: its Prometheus exporter and where its Core logs go.

One function for the worker and for clients (CLI, link server), so that every process
configures the SDK's native side the same way. A process that serves SDK metrics passes
the address to bind; a runtime is made once per address (the exporter holds its port).
"""

from __future__ import annotations

import logging
from functools import cache

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

# Core (Rust) log lines arrive on this Python logger, so they share the configured format.
CORE_LOGGER = "temporalio.core"


@cache
def sdk_runtime(prometheus_bind: str | None = None) -> Runtime:
    """The SDK runtime; with ``prometheus_bind`` ("host:port") it serves the SDK metrics there.

    Core warnings and errors are forwarded to Python logging instead of its own stderr
    format; its info chatter is dropped. Raises if the address is already in use.
    """
    telemetry = TelemetryConfig(
        logging=LoggingConfig(
            filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
            forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
        ),
        metrics=PrometheusConfig(bind_address=prometheus_bind) if prometheus_bind else None,
    )
    return Runtime(telemetry=telemetry)
