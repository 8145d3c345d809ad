"""Driving the no-op twin: the same start (with its first update when the real starter sent one
with it), status polls before each later decision, updates and signals in the recorded order,
then the result."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from bench.drivers import decide, poll, start_checked
from bench.shape import Shape
from bench.shape_workflow import ShapeInput, ShapeSignal, ShapeUpdate, ShapeWorkflow, pad
from infra.temporal import index_attributes


def _input(shape: Shape) -> ShapeInput:
    """The twin's input, padded to the real input's size."""
    frame = len(ShapeInput(shape=shape).model_dump_json())
    return ShapeInput(shape=shape, pad=pad(shape.input_bytes - frame))


def _start_op(
    shape: Shape, task_queue: str, wf_id: str
) -> WithStartWorkflowOperation[ShapeWorkflow, str]:
    return WithStartWorkflowOperation(
        ShapeWorkflow.run,
        _input(shape),
        id=wf_id,
        task_queue=task_queue,
        search_attributes=index_attributes(partner_id="P-FLOOR", customer_id=wf_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def starts_with_update(shape: Shape) -> int | None:
    """The position of an update the real starter sent with the start (update-with-start of
    the workflow's ``checked``): a wait with nothing but upserts before it."""
    for pos, step in enumerate(shape.steps):
        if step.kind == "update":
            return pos
        if step.kind != "upsert":
            return None
    return None


async def open_floor(
    client: Client, task_queue: str, shape: Shape, wf_id: str
) -> tuple[WorkflowHandle[Any, Any], int]:
    """Starts the twin, padded to the real input's size and indexed as the starters index;
    when the real run's first update came with its start, sends it the same way. Returns the
    handle and the step position to drive on from."""
    first = starts_with_update(shape)
    if first is None:
        return await client.start_workflow(
            ShapeWorkflow.run,
            _input(shape),
            id=wf_id,
            task_queue=task_queue,
            search_attributes=index_attributes(partner_id="P-FLOOR", customer_id=wf_id),
        ), 0
    step = shape.steps[first]
    size = shape.updates[step.index].request_bytes
    _, h = await start_checked(
        client,
        ShapeWorkflow.step,
        lambda: _start_op(shape, task_queue, wf_id),
        ShapeUpdate(index=step.index, pad=pad(size)),
    )
    return h, first + 1


async def reached(h: WorkflowHandle[Any, Any], pos: int) -> None:
    """Polls the twin's status until its main loop waits at step ``pos`` (or later)."""

    def ready(waiting: int) -> bool:
        return waiting >= pos

    await poll(lambda: h.query(ShapeWorkflow.waiting), ready, h.id)


def next_wait(shape: Shape, begin: int) -> int | None:
    """The position of the first update or signal at or after ``begin``."""
    for pos in range(begin, len(shape.steps)):
        if shape.steps[pos].kind in ("update", "signal"):
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


async def run_floor(
    client: Client, task_queue: str, shape: Shape, wf_id: str, *, poll: bool = True
) -> None:
    """Starts the twin and drives it to its end: a status poll before each decision (but an
    update sent with the start, as the real starter sent it). Without ``poll`` (the real
    driver polls no status either) an update is sent at once: the twin's handler waits until
    the main loop reaches it; a signal is still sent only once its wait is reached."""
    h, begin = await open_floor(client, task_queue, shape, wf_id)
    for pos in range(begin, len(shape.steps)):
        kind = shape.steps[pos].kind
        if kind in ("update", "signal"):
            if poll or kind == "signal":
                await reached(h, pos)
            await send_wait(h, shape, pos)
    await h.result()
