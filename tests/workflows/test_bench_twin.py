"""The benchmark's no-op twin on the dev server: replaying a recorded shape yields a history of
the same shape (same activities, payload sizes, updates, signals, timers, upserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.floor import run_floor
from bench.shape import shape_from_history
from bench.shape_workflow import ShapeWorkflow, bench_noop
from tests.harness import new_task_queue

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


@pytest.mark.parametrize(
    "name",
    [
        "invitation-accepted_together",
        "invitation-expired_together",
        "renewal_workflow-renewed-by-import",
    ],
)
async def test_the_twin_replays_the_recorded_shape(dev_env: WorkflowEnvironment, name: str) -> None:
    shape = shape_from_history(json.loads((HISTORIES / f"{name}.json").read_text()))
    tq = new_task_queue()
    async with Worker(
        dev_env.client, task_queue=tq, workflows=[ShapeWorkflow], activities=[bench_noop]
    ):
        await run_floor(dev_env.client, tq, shape, f"twin-{name}-{tq}")
    history = await dev_env.client.get_workflow_handle(f"twin-{name}-{tq}").fetch_history()
    twin = shape_from_history(json.loads(history.to_json()))
    assert twin.counts() == shape.counts()
    assert [(s.kind, s.index, s.timers) for s in twin.steps] == [
        (s.kind, s.index, s.timers) for s in shape.steps
    ]
    assert [len(u.activities) for u in twin.updates] == [len(u.activities) for u in shape.updates]
    for mine, theirs in zip(twin.steps, shape.steps, strict=True):
        if mine.activity is not None and theirs.activity is not None:
            # Same size to within the framing of the no-op's payload.
            assert abs(mine.activity.input_bytes - theirs.activity.input_bytes) <= 40
            assert abs(mine.activity.output_bytes - theirs.activity.output_bytes) <= 40
