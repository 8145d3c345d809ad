"""One invitation (start + accept) is one connected trace: client, workflow, activity,
SQL and SMTP spans share the trace id and chain up to the client's span."""

from __future__ import annotations

import uuid

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Actor, Decision, Role
from infra.smtp_sink import MailSink
from infra.tracing import client_interceptors
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import finished, new_task_queue
from tests.ops.test_metrics_contract import wait_pending
from worker import build_worker
from workflows.invitation import InvitationWorkflow

EXPORTER = InMemorySpanExporter()


class GatedProcessor(SimpleSpanProcessor):
    """Records only while a test of this module runs (the provider outlives the test)."""

    recording = False

    def on_end(self, span: ReadableSpan) -> None:
        if GatedProcessor.recording:
            super().on_end(span)


def tracer_provider() -> TracerProvider:
    """The process-wide provider, recording into EXPORTER (set once per process)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if not getattr(provider, "_pf_test_exporter", False):
        provider.add_span_processor(GatedProcessor(EXPORTER))
        provider._pf_test_exporter = True  # type: ignore[attr-defined]
    return provider


def chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names from ``span`` up to the root."""
    names = [span.name]
    while span.parent is not None:
        parent = by_id.get(span.parent.span_id)
        assert parent is not None, f"{names} has a parent that was not recorded"
        names.append(parent.name)
        span = parent
    return names


async def invite_and_accept(
    env: WorkflowEnvironment, client: Client, task_queue: str, staff: Actor, tracer: Tracer
) -> None:
    """Starts an invitation and accepts it inside one root span."""
    with tracer.start_as_current_span("invite and accept"):
        handle = await client.start_workflow(
            InvitationWorkflow.run,
            InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
            id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
        )
        await wait_pending(handle)
        await handle.execute_update(
            InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"), nonce="n-1")
        )
        assert (await finished(env, handle)).status == InvitationStatus.ACCEPTED


async def test_invitation_start_and_accept_is_one_trace(
    env: WorkflowEnvironment,
    client: Client,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    mailbox: MailSink,
) -> None:
    provider = tracer_provider()
    assert any(isinstance(i, TracingInterceptor) for i in client_interceptors())
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *client_interceptors()]
    traced = Client(**config)
    await add_partner(sessions, "P-1")
    await add_customer(sessions, "C-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    worker = build_worker(traced, deps, task_queue=new_task_queue())
    tracer = provider.get_tracer("test")
    EXPORTER.clear()
    GatedProcessor.recording = True
    try:
        async with worker:
            await invite_and_accept(env, traced, worker.task_queue, staff, tracer)
    finally:
        GatedProcessor.recording = False
    spans = list(EXPORTER.get_finished_spans())
    by_id = {s.context.span_id: s for s in spans}
    root = next(s for s in spans if s.name == "invite and accept")
    names = {s.name for s in spans}
    assert "StartWorkflow:InvitationWorkflow" in names, names
    assert "StartWorkflowUpdate:accept" in names, names
    assert "RunActivity:send_email" in names and "RunActivity:create_binding" in names, names
    assert "smtp send" in names and any(n.startswith("sql ") for n in names), names
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}
    for span in spans:
        assert chain(span, by_id)[-1] == "invite and accept", chain(span, by_id)
    send = next(s for s in spans if s.name == "RunActivity:send_email")
    assert "StartWorkflow:InvitationWorkflow" in chain(send, by_id)
    smtp = next(s for s in spans if s.name == "smtp send")
    assert chain(smtp, by_id)[1] == "RunActivity:send_email"
    sql_parents = {chain(s, by_id)[1] for s in spans if s.name.startswith("sql ")}
    assert sql_parents <= {n for n in names if n.startswith("RunActivity:")}, sql_parents
