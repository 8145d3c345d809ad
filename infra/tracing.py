"""OpenTelemetry tracing: Temporal interceptor, SQL and SMTP spans, OTLP export when asked.

Spans are exported by OTLP/HTTP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the standard
OpenTelemetry variables configure the exporter); otherwise the global tracer provider stays
the no-op one and the hooks below cost a function call each.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from infra.mailer import SmtpMailer
from infra.mime import OutgoingEmail

TRACER_NAME = "partnerflow"
_SPANS_KEY = "partnerflow_sql_spans"
_configured = False


def configure_tracing(service_name: str) -> bool:
    """Installs the OTLP exporter as the global tracer provider if an endpoint is set.

    Returns whether tracing is on. ``OTEL_SERVICE_NAME`` overrides ``service_name``. The
    first call in a process decides (OpenTelemetry refuses to replace the provider).
    """
    global _configured
    if _configured or not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return _configured
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME", service_name)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def flush_tracing(timeout_millis: int = 5000) -> None:
    """Exports pending spans (the CLI exits without interpreter teardown)."""
    provider: Any = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush(timeout_millis)


def client_interceptors() -> list[Interceptor]:
    """Interceptors for every client; a worker built on the client inherits them."""
    return [TracingInterceptor()]


def instrument_engine(engine: AsyncEngine) -> None:
    """One span per SQL statement (the statement text has parameters, never values)."""
    tracer = trace.get_tracer(TRACER_NAME)
    db_system = engine.dialect.name

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(
        conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        operation = statement.split(None, 1)[0].upper() if statement else "SQL"
        span = tracer.start_span(
            f"sql {operation}",
            kind=trace.SpanKind.CLIENT,
            attributes={"db.system": db_system, "db.statement": statement[:2000]},
        )
        conn.info.setdefault(_SPANS_KEY, []).append(span)

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _end(
        conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        stack = conn.info.get(_SPANS_KEY)
        if stack:
            stack.pop().end()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _error(ctx: Any) -> None:
        conn = ctx.connection
        stack = conn.info.get(_SPANS_KEY) if conn is not None else None
        if stack:
            span = stack.pop()
            span.record_exception(ctx.original_exception)
            span.set_status(trace.Status(trace.StatusCode.ERROR))
            span.end()


class TracedSmtpMailer(SmtpMailer):
    """The SMTP mailer with a span around the exchange with the server."""

    async def send(self, msg: OutgoingEmail) -> None:
        """Sends ``msg`` inside an ``smtp send`` span (the recipient is not recorded)."""
        tracer = trace.get_tracer(TRACER_NAME)
        with tracer.start_as_current_span(
            "smtp send",
            kind=trace.SpanKind.CLIENT,
            attributes={"smtp.message_id": msg.message_id},
        ):
            await super().send(msg)
