"""Driving the no-op twin: the same start, status polls before each decision, updates and
signals in the recorded order, then the result."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.drivers import decide, poll
from bench.shape import Shape
from bench.shape_workflow import ShapeInput, ShapeSignal, ShapeUpdate, ShapeWorkflow, pad
from infra.temporal import index_attributes


async def start_floor(
    client: Client, task_queue: str, shape: Shape, wf_id: str
) -> WorkflowHandle[Any, Any]:
    """Starts the twin, padded to the real input's size and indexed as the starters index."""
    frame = len(ShapeInput(shape=shape).model_dump_json())
    return await client.start_workflow(
        ShapeWorkflow.run,
        ShapeInput(shape=shape, pad=pad(shape.input_bytes - frame)),
        id=wf_id,
        task_queue=task_queue,
        search_attributes=index_attributes(partner_id="P-FLOOR", customer_id=wf_id),
    )


async def reached(h: WorkflowHandle[Any, Any], pos: int) -> None:
    """Polls the twin's status until its main loop waits at step ``pos`` (or later)."""

    def ready(waiting: int) -> bool:
        return waiting >= pos

    await poll(lambda: h.query(ShapeWorkflow.waiting), ready, h.id)


async def first_wait(h: WorkflowHandle[Any, Any], shape: Shape) -> int | None:
    """Polls until the main loop waits for its first update or signal; its step position."""
    for pos, step in enumerate(shape.steps):
        if step.kind in ("update", "signal"):
            await reached(h, pos)
            return pos
    return None


async def send_wait(h: WorkflowHandle[Any, Any], shape: Shape, pos: int) -> None:
    """Sends what the wait at step ``pos`` waits for (the main loop has reached it)."""
    step = shape.steps[pos]
    if step.kind == "update":
        size = shape.updates[step.index].request_bytes
        await decide(h, ShapeWorkflow.step, ShapeUpdate(index=step.index, pad=pad(size)))
    else:
        size = shape.signal_bytes[step.index]
        await h.signal(ShapeWorkflow.signal, ShapeSignal(index=step.index, pad=pad(size)))


async def run_floor(client: Client, task_queue: str, shape: Shape, wf_id: str) -> None:
    """Starts the twin and drives it to its end: a status poll before each decision."""
    h = await start_floor(client, task_queue, shape, wf_id)
    for pos, step in enumerate(shape.steps):
        if step.kind in ("update", "signal"):
            await reached(h, pos)
            await send_wait(h, shape, pos)
    await h.result()
