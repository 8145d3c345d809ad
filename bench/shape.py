"""The shape of a workflow run, read from its history: what its no-op twin must replay.

A shape counts what costs Temporal work, in the order the workflow did it: activities (with
their input and output sizes), the updates and signals the main loop waited for (with the
activities each update handler ran and the timers the wait started), timers that fired, and
search-attribute upserts. Deriving it from a real run's history keeps the twin from drifting
when a workflow changes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from infra.codec import ENCODING, overhead

StepKind = Literal["activity", "update", "signal", "timer", "upsert"]


class ActivityShape(BaseModel):
    """One activity: payload bytes in and out."""

    input_bytes: int = 0
    output_bytes: int = 0


class UpdateShape(BaseModel):
    """One update: its request and response sizes and the activities its handler ran."""

    request_bytes: int = 0
    response_bytes: int = 0
    activities: list[ActivityShape] = Field(default_factory=list)


class Step(BaseModel):
    """One step of the main loop.

    ``activity``: run one activity (together with the next ones of the same ``batch``). ``update`` / ``signal``: wait for update (signal) number
    ``index``, with ``timers`` timers started while waiting (cancelled when it arrives).
    ``timer``: a timer that fired. ``upsert``: a search-attribute upsert.
    """

    kind: StepKind
    activity: ActivityShape | None = None
    index: int = 0
    timers: int = 0
    # An activity's workflow task (its WorkflowTaskCompleted event id): consecutive
    # activities of one batch were scheduled together and are replayed together.
    batch: str | None = None


class Shape(BaseModel):
    """What a run of ``workflow_type`` did, in order."""

    workflow_type: str
    input_bytes: int = 0
    result_bytes: int = 0
    steps: list[Step] = Field(default_factory=list)
    updates: list[UpdateShape] = Field(default_factory=list)
    signal_bytes: list[int] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Totals: activities (main loop + update handlers), updates, signals, timers, upserts."""
        main = sum(1 for s in self.steps if s.kind == "activity")
        in_updates = sum(len(u.activities) for u in self.updates)
        return {
            "activities": main + in_updates,
            "updates": len(self.updates),
            "signals": len(self.signal_bytes),
            "timers": sum(s.timers for s in self.steps) + self.fired_timers(),
            "upserts": sum(1 for s in self.steps if s.kind == "upsert"),
        }

    def fired_timers(self) -> int:
        """Timers that fired (replayed as short sleeps)."""
        return sum(1 for s in self.steps if s.kind == "timer")

    def describe(self) -> str:
        """One line: ``11 activities, 1 update, 0 signals, 1 timer, 2 upserts``."""
        c = self.counts()
        return ", ".join(f"{v} {k}" for k, v in c.items())


_ENCRYPTED = base64.b64encode(ENCODING).decode()


def payload_bytes(payload: Mapping[str, Any]) -> int:
    """The size of one payload's data before the codec encrypted it (the twin's payloads are
    encrypted again, so counting the codec's framing here would count it twice)."""
    data = payload.get("data", "")
    size = len(base64.b64decode(data)) if data else 0
    if payload.get("metadata", {}).get("encoding") == _ENCRYPTED:
        # The framing grows by a byte with the plain length's varint: solve for the plain size.
        plain = size - overhead(0)
        while plain > 0 and plain + overhead(plain) > size:
            plain -= 1
        return plain
    return size


def _payload_bytes(container: Mapping[str, Any] | None) -> int:
    """Plain size of every payload in a ``{"payloads": [...]}`` container."""
    if not container:
        return 0
    return sum(payload_bytes(p) for p in container.get("payloads", []))


def _attrs(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventAttributes") and isinstance(value, Mapping):
            return value
    return {}


_T = "EVENT_TYPE_"


def shape_from_history(history: Mapping[str, Any] | str) -> Shape:
    """The shape of the run recorded in ``history`` (``WorkflowHistory.to_json()`` form).

    An activity scheduled while an update is open belongs to that update's handler, unless it
    was scheduled in the same workflow task that completed the update (then the main loop
    scheduled it). A cancelled timer belongs to the wait it was started for: the update or
    signal still being handled when it started, otherwise the next one.
    """
    h: Mapping[str, Any] = json.loads(history) if isinstance(history, str) else history
    events: list[Mapping[str, Any]] = list(h["events"])

    # Pass 1: outcomes that appear later in the history.
    activity_output: dict[str, int] = {}
    timer_fired: dict[str, bool] = {}
    update_done_batch: dict[str, str] = {}
    batch = "0"
    for e in events:
        kind, a, eid = e["eventType"].removeprefix(_T), _attrs(e), str(e["eventId"])
        if kind == "WORKFLOW_TASK_COMPLETED":
            batch = eid
        elif kind == "ACTIVITY_TASK_COMPLETED":
            activity_output[str(a["scheduledEventId"])] = _payload_bytes(a.get("result"))
        elif kind == "TIMER_FIRED":
            timer_fired[str(a["timerId"])] = True
        elif kind == "TIMER_CANCELED":
            timer_fired.setdefault(str(a["timerId"]), False)
        elif kind == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            update_done_batch[str(a["meta"]["updateId"])] = batch

    shape = Shape(workflow_type="")
    open_updates: dict[str, int] = {}  # update id -> index in shape.updates
    last_wait: Step | None = None  # the latest wait with no main-loop activity after it
    pending_timers = 0
    for e in events:
        kind, a, eid = e["eventType"].removeprefix(_T), _attrs(e), str(e["eventId"])
        if kind == "WORKFLOW_EXECUTION_STARTED":
            shape.workflow_type = str(a["workflowType"]["name"])
            shape.input_bytes = _payload_bytes(a.get("input"))
        elif kind == "WORKFLOW_EXECUTION_COMPLETED":
            shape.result_bytes = _payload_bytes(a.get("result"))
        elif kind == "ACTIVITY_TASK_SCHEDULED":
            act = ActivityShape(
                input_bytes=_payload_bytes(a.get("input")),
                output_bytes=activity_output.get(eid, 0),
            )
            scheduled_in = str(a.get("workflowTaskCompletedEventId", ""))
            owner = next(
                (
                    idx
                    for uid, idx in reversed(open_updates.items())
                    if update_done_batch.get(uid) != scheduled_in
                ),
                None,
            )
            if owner is not None:
                shape.updates[owner].activities.append(act)
            else:
                shape.steps.append(Step(kind="activity", activity=act, batch=scheduled_in or None))
                last_wait = None
        elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            request = a.get("acceptedRequest", {})
            uid = str(request.get("meta", {}).get("updateId", a.get("protocolInstanceId")))
            open_updates[uid] = len(shape.updates)
            shape.updates.append(
                UpdateShape(request_bytes=_payload_bytes(request.get("input", {}).get("args")))
            )
            last_wait = Step(kind="update", index=open_updates[uid], timers=pending_timers)
            pending_timers = 0
            shape.steps.append(last_wait)
        elif kind == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            uid = str(a["meta"]["updateId"])
            idx = open_updates.pop(uid, None)
            if idx is not None:
                outcome = a.get("outcome", {})
                shape.updates[idx].response_bytes = _payload_bytes(outcome.get("success"))
        elif kind == "WORKFLOW_EXECUTION_SIGNALED":
            shape.signal_bytes.append(_payload_bytes(a.get("input")))
            last_wait = Step(
                kind="signal", index=len(shape.signal_bytes) - 1, timers=pending_timers
            )
            pending_timers = 0
            shape.steps.append(last_wait)
        elif kind == "TIMER_STARTED":
            # A timer with no outcome was still pending when the run ended: not a sleep.
            if timer_fired.get(str(a["timerId"]), False):
                shape.steps.append(Step(kind="timer"))
            elif last_wait is not None and open_updates:
                last_wait.timers += 1
            else:
                pending_timers += 1
        elif kind == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            shape.steps.append(Step(kind="upsert"))
    # A timer cancelled with no wait after it (e.g. by the run's end) is replayed as one.
    shape.steps.extend(Step(kind="timer") for _ in range(pending_timers))
    return shape
