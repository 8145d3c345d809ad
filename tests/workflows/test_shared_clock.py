"""The time-skipping server's clock is shared by every workflow of a test module.

Awaiting ``handle.result()`` unlocks it: once that workflow has closed and nothing else is in
flight, the server jumps to the next timer of ANY open workflow. A test that then sends an
update to a workflow whose deadline was jumped over gets ``update <id> not found`` (the flake
of ``test_software_path_again_in_the_company_needs_approval_and_leave`` under load).
``finished(env, handle)`` awaits the result with the clock kept locked.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.harness import eventually, finished
from tests.workflows.clock_probe import ClockProbeWorkflow

DAYS = 7
ATTEMPTS = 5
Probe = WorkflowHandle[ClockProbeWorkflow, str]


@pytest.fixture
async def probe_worker(client: Client, task_queue: str) -> AsyncIterator[Worker]:
    """A worker for the probe workflow only."""
    async with Worker(client, task_queue=task_queue, workflows=[ClockProbeWorkflow]) as w:
        yield w


async def start_probe(client: Client, worker: Worker, name: str) -> Probe:
    """A probe that waits ``DAYS`` days for its answer."""
    return await client.start_workflow(
        ClockProbeWorkflow.run,
        DAYS,
        id=f"clock-probe-{name}-{uuid.uuid4().hex[:8]}",
        task_queue=worker.task_queue,
    )


async def answered(client: Client, worker: Worker) -> Probe:
    """A probe answered at once: it ends without any time passing."""
    near = await start_probe(client, worker, "near")
    assert await near.execute_update(ClockProbeWorkflow.answer) == "answered"
    return near


async def test_result_of_an_ended_workflow_jumps_another_workflows_deadline(
    env: WorkflowEnvironment, client: Client, probe_worker: Worker
) -> None:
    # The mechanism itself, which a test must not rely on while another workflow waits. The
    # jump races with the client locking the clock again, so it is tried a few times.
    far = await start_probe(client, probe_worker, "far")
    before = await env.get_current_time()
    for _ in range(ATTEMPTS):
        assert await (await answered(client, probe_worker)).result() == "answered"
        if await env.get_current_time() - before >= timedelta(days=DAYS):
            break
    assert await env.get_current_time() - before >= timedelta(days=DAYS)

    async def far_closed() -> None:
        assert (await far.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(far_closed)
    assert await finished(env, far) == "expired"


async def test_finished_keeps_the_clock_so_the_other_workflow_still_takes_its_update(
    env: WorkflowEnvironment, client: Client, probe_worker: Worker
) -> None:
    # As many rounds as the test above needs at most to see the jump: without the lock in
    # `finished` this fails (nearly) every time, with it never.
    far = await start_probe(client, probe_worker, "far")
    before = await env.get_current_time()
    for _ in range(ATTEMPTS):
        assert await finished(env, await answered(client, probe_worker)) == "answered"
    assert (await far.describe()).status == WorkflowExecutionStatus.RUNNING
    assert await far.execute_update(ClockProbeWorkflow.answer) == "answered"
    assert await finished(env, far) == "answered"
    assert await env.get_current_time() - before < timedelta(hours=1)
