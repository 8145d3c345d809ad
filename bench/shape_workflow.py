"""``ShapeWorkflow``: the Temporal floor of a workflow's shape, replayed with no-op activities.

It takes a ``Shape`` recorded from a real run and does the same Temporal work: the same
number of activities with the same payload sizes (each returns at once), the same updates and
signals waited for with the same timers, fired timers as zero-length sleeps, the same
search-attribute upserts. Whatever the real workflow costs beyond it is the product's own.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from bench.shape import Shape

# Same options as the product's activities (workflows/common.py).
_TIMEOUT = timedelta(seconds=30)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# A wait's timer in the real workflows is days long; it never fires during a run.
_WAIT = timedelta(days=7)
_BUSINESS_STATUS = SearchAttributeKey.for_keyword("BusinessStatus")
# JSON framing of the pydantic payloads below (field names, quotes, braces).
_FRAME = 24


def pad(n: int) -> str:
    """A string that makes a payload about ``n`` bytes."""
    return "x" * max(0, n - _FRAME)


class NoopInput(BaseModel):
    """A no-op activity's input: padding, and how many bytes to answer."""

    pad: str = ""
    reply_bytes: int = 0


class ShapeInput(BaseModel):
    """The shape to replay, padded to the real workflow's input size."""

    shape: Shape
    pad: str = ""


class ShapeUpdate(BaseModel):
    """Update number ``index`` of the shape, padded to the real request's size."""

    index: int
    pad: str = ""


class ShapeSignal(BaseModel):
    """Signal number ``index`` of the shape, padded to the real signal's size."""

    index: int
    pad: str = ""


@activity.defn(name="bench_noop")
async def bench_noop(inp: NoopInput) -> str:
    """Returns at once with a reply of the recorded size."""
    return pad(inp.reply_bytes)


async def _run(a_input: int, a_output: int) -> None:
    await workflow.execute_activity(
        bench_noop,
        NoopInput(pad=pad(a_input), reply_bytes=a_output),
        start_to_close_timeout=_TIMEOUT,
        retry_policy=_RETRY,
    )


@workflow.defn
class ShapeWorkflow:
    """Replays a recorded shape; the driver sends its updates and signals in order."""

    @workflow.init
    def __init__(self, inp: ShapeInput) -> None:
        self._shape = inp.shape
        self._waiting = -1  # the wait step the main loop has reached (its position in steps)
        self._updates_done: set[int] = set()
        self._signals: set[int] = set()

    @workflow.run
    async def run(self, inp: ShapeInput) -> str:
        """Walks the steps in order."""
        steps = self._shape.steps
        pos = -1
        while pos + 1 < len(steps):
            pos += 1
            step = steps[pos]
            if step.kind == "activity":
                # Activities the real workflow scheduled in one workflow task run together.
                group = [step]
                while (
                    step.batch is not None
                    and pos + 1 < len(steps)
                    and steps[pos + 1].kind == "activity"
                    and steps[pos + 1].batch == step.batch
                ):
                    pos += 1
                    group.append(steps[pos])
                await asyncio.gather(
                    *(
                        _run(g.activity.input_bytes, g.activity.output_bytes)
                        for g in group
                        if g.activity
                    )
                )
            elif step.kind == "timer":
                await workflow.sleep(timedelta(milliseconds=1))
            elif step.kind == "upsert":
                workflow.upsert_search_attributes([_BUSINESS_STATUS.value_set(f"STEP-{pos}")])
            else:
                self._waiting = pos
                k = step.index
                done = self._updates_done if step.kind == "update" else self._signals
                await self._wait(functools.partial(done.__contains__, k), step.timers)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return pad(self._shape.result_bytes)

    @staticmethod
    async def _wait(fn: Callable[[], bool], timers: int) -> None:
        if timers == 0:
            await workflow.wait_condition(fn)
            return
        # Each timer the real wait started; all are cancelled when the event arrives.
        await asyncio.gather(
            *(
                workflow.wait_condition(fn, timeout=_WAIT + timedelta(seconds=j))
                for j in range(timers)
            )
        )

    @workflow.update
    async def step(self, u: ShapeUpdate) -> str:
        """Update ``u.index``: waits for the main loop to reach it, then runs its activities."""
        spec = self._shape.updates[u.index]
        await workflow.wait_condition(lambda: self._reached("update", u.index))
        for act in spec.activities:
            await _run(act.input_bytes, act.output_bytes)
        self._updates_done.add(u.index)
        return pad(spec.response_bytes)

    @workflow.signal
    def signal(self, s: ShapeSignal) -> None:
        """Signal ``s.index``."""
        self._signals.add(s.index)

    @workflow.query
    def waiting(self) -> int:
        """Position of the wait step the main loop has reached (-1 before the first)."""
        return self._waiting

    def _reached(self, kind: str, index: int) -> bool:
        if self._waiting < 0:
            return False
        return any(
            s.kind == kind and s.index == index for s in self._shape.steps[: self._waiting + 1]
        )
