"""Every stored history replays against today's workflow code.

A change that would break running workflows (a removed activity call, a reordered timer)
fails here. Histories are recorded by the workflow tests with PARTNERFLOW_RECORD_HISTORIES=1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.harness import HISTORIES
from worker import ValidateOnceSandboxRunner
from workflows import ALL_WORKFLOWS

FILES = sorted(HISTORIES.glob("*.json"))


def _workflow_type(path: Path) -> str:
    events = json.loads(path.read_text())["events"]
    return str(events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=ValidateOnceSandboxRunner(),
    )
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await replayer.replay_workflow(history)


def test_every_workflow_type_has_a_stored_history() -> None:
    covered = {_workflow_type(p) for p in FILES}
    missing = {w.__name__ for w in ALL_WORKFLOWS} - covered
    assert not missing, f"record a history for {sorted(missing)} (see tests/harness.save_history)"
