"""The benchmark's shape extraction: what a stored history says the no-op twin must replay."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import ParseDict
from temporalio.api.common.v1 import Payload

from bench.shape import shape_from_history
from infra.codec import EncryptionCodec, dev_keys

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HISTORIES / f"{name}.json").read_text())
    return data


def _plain_size(payload: dict[str, Any]) -> int:
    """The size of a stored payload's data once the codec has decrypted it."""
    (plain,) = asyncio.run(EncryptionCodec(dev_keys()).decode([ParseDict(payload, Payload())]))
    return len(plain.data)


def _count(history: dict[str, Any], event: str) -> int:
    return sum(1 for e in history["events"] if e["eventType"] == f"EVENT_TYPE_{event}")


@pytest.mark.parametrize(
    "path",
    sorted(HISTORIES.glob("*.json")) + sorted(HISTORIES.glob("*/*.json")),
    ids=lambda p: str(p.relative_to(HISTORIES)),
)
def test_every_stored_history_keeps_its_counts(path: Path) -> None:
    h = json.loads(path.read_text())
    c = shape_from_history(h).counts()
    assert c["activities"] == _count(h, "ACTIVITY_TASK_SCHEDULED")
    assert c["updates"] == _count(h, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    assert c["signals"] == _count(h, "WORKFLOW_EXECUTION_SIGNALED")
    assert c["timers"] == _count(h, "TIMER_STARTED")
    assert c["upserts"] == _count(h, "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")


def test_accepted_invitation_waits_once_for_the_update() -> None:
    h = _load("invitation-accepted_together")
    shape = shape_from_history(h)
    assert shape.workflow_type == "InvitationWorkflow"
    kinds = [s.kind for s in shape.steps]
    # Where the update lands among the main loop's activities depends on when the customer
    # answered in the recorded run; that it is one update, waited for once, does not.
    assert kinds.count("update") == 1 and kinds[0] == "activity"
    (update,) = shape.updates
    # verify_actor and create_binding run inside the accept handler (at least).
    assert len(update.activities) >= 2
    assert update.request_bytes > 0 and update.response_bytes > 0
    first = next(e for e in h["events"] if e["eventType"].endswith("ACTIVITY_TASK_SCHEDULED"))
    raw = first["activityTaskScheduledEventAttributes"]["input"]["payloads"][0]
    first_activity = shape.steps[0].activity
    assert first_activity is not None
    assert first_activity.input_bytes == _plain_size(raw)
    assert first_activity.output_bytes > 0
    started = h["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"]
    assert shape.input_bytes == _plain_size(started[0])
    assert shape.result_bytes > 0


def test_activities_scheduled_together_keep_their_batch() -> None:
    # Since invitation-finish-together the outcome's records and two emails are scheduled in
    # one workflow task: the twin must run them together too, or its floor would wait for
    # several activity rounds where the real workflow waits for one. Since records-in-one-step
    # the records (row, task, audit event) are one activity of the three.
    def batches(name: str) -> list[int]:
        steps = shape_from_history(_load(name)).steps
        sizes: list[int] = []
        for prev, step in zip([None, *steps], steps, strict=False):
            same = prev is not None and prev.kind == "activity" and prev.batch == step.batch
            if step.kind == "activity" and same:
                sizes[-1] += 1
            elif step.kind == "activity":
                sizes.append(1)
        return sizes

    assert max(batches("invitation-accepted_together")) == 3
    assert max(batches("before-one-step/invitation-accepted_together")) == 5
    # recorded before invitation-finish-together: one after the other
    assert max(batches("before-one-step/invitation-accepted")) == 1


def test_expired_invitation_has_two_fired_timers_and_no_wait() -> None:
    shape = shape_from_history(_load("invitation-expired_together"))
    assert shape.updates == [] and shape.signal_bytes == []
    assert shape.fired_timers() == 2  # the reminder, then the expiry
    assert not any(s.kind in ("update", "signal") for s in shape.steps)


def test_renewal_waits_for_the_billing_signal_after_the_updates() -> None:
    shape = shape_from_history(_load("renewal_workflow-renewed-by-import"))
    waits = [s.kind for s in shape.steps if s.kind in ("update", "signal")]
    assert waits == ["update", "update", "update", "signal"]
    assert shape.signal_bytes[0] > 0
