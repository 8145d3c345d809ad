"""Every stored history replays against today's workflow code.

A change that would break running workflows (a removed activity call, a reordered timer)
fails here. Histories are recorded by the workflow tests with PARTNERFLOW_RECORD_HISTORIES=1
(`make histories`), under the payload codec.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.harness import HISTORIES, codec_converter
from worker import ValidateOnceSandboxRunner
from workflows.registry import ALL_WORKFLOWS

FILES = sorted(HISTORIES.glob("*.json"))
# Histories of the code before a change that is behind a `workflow.patched` marker (the folder
# names the change): workflows started then may still be running, so they must replay too.
EARLIER = sorted(HISTORIES.glob("*/*.json"))


def _workflow_type(path: Path) -> str:
    events = json.loads(path.read_text())["events"]
    return str(events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


@pytest.mark.parametrize(
    "path", FILES + EARLIER, ids=[str(p.relative_to(HISTORIES)) for p in FILES + EARLIER]
)
async def test_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=codec_converter(),
        workflow_runner=ValidateOnceSandboxRunner(),
    )
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await replayer.replay_workflow(history)


# The paths whose histories are stored, per workflow type (file ``<prefix>-<path>.json``).
# A history that goes missing, or a type without one, fails below by name; a new path is
# added here when its history is recorded (see tests/harness.save_history).
EXPECTED_PATHS: dict[str, list[str]] = {
    "CustomerAuthorizationWorkflow": [
        "cancelled",
        "distributor_then_customer",
        "expired",
        "lapsed",
        "revoked",
    ],
    "DevelopmentPathWorkflow": ["completed", "expired", "left"],
    "IncentiveMonthlyRunWorkflow": ["two_pages"],
    "IncentivePayoutWorkflow": [
        "bank_transfer",
        "frozen_then_released",
        "invoice_lapsed",
        "no_incentive",
        "recharge_two_invoices",
        "rejected",
        "voucher",
    ],
    "InvitationWorkflow": [
        "accepted_together",
        "actor-refused",
        "bounced",
        "declined_together",
        "expired_together",
        "sent_update",
    ],
    "OnboardingWorkflow": ["approved", "expired", "rejected", "withdrawn"],
    "RenewalScanWorkflow": ["second-run-starts-nothing"],
    "RenewalWorkflow": ["lost", "partner-pays-authorized", "renewed-by-import"],
    "UnbindingWorkflow": [
        "actor-refused",
        "customer-approved",
        "customer-auto-approved",
        "partner-approved",
        "partner-lapsed",
        "partner-rejected",
        "switch-approved",
    ],
}


def stored_paths() -> dict[str, list[str]]:
    """Workflow type -> the paths stored in tests/histories, read from the histories."""
    table: dict[str, list[str]] = {w.__name__: [] for w in ALL_WORKFLOWS}
    for path in FILES:
        table.setdefault(_workflow_type(path), []).append(path.stem.split("-", 1)[1])
    return {k: sorted(v) for k, v in sorted(table.items())}


def describe(table: dict[str, list[str]]) -> str:
    """The coverage table, one workflow type a line."""
    return "\n".join(f"{k:<30} {', '.join(v) or '(none)'}" for k, v in table.items())


def test_every_workflow_type_has_its_stored_paths() -> None:
    stored = stored_paths()
    print("stored histories per workflow type:\n" + describe(stored))
    untested = [k for k, v in stored.items() if not v]
    assert not untested, f"record a history for {untested}:\n{describe(stored)}"
    assert stored == EXPECTED_PATHS, (
        f"stored histories differ from EXPECTED_PATHS:\nstored:\n{describe(stored)}\n"
        f"expected:\n{describe(EXPECTED_PATHS)}"
    )


def test_stored_histories_were_recorded_under_the_codec() -> None:
    # A history recorded without the codec replays too (clear payloads pass through), but it
    # is not what production writes: re-record with `make histories`.
    # Never through the codec: a patch marker's details (written by the SDK's core) and
    # search attributes (the server indexes them), such as the patch's TemporalChangeVersion.
    unencoded = ("EVENT_TYPE_MARKER_RECORDED", "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")

    def without_markers(path: Path) -> str:
        events = json.loads(path.read_text())["events"]
        kept = [e for e in events if e["eventType"] not in unencoded]
        # A start's search attributes (PartnerId of an indexed run) are the server's too.
        for e in kept:
            e.get("workflowExecutionStartedEventAttributes", {}).pop("searchAttributes", None)
        return json.dumps(kept)

    clear = [
        p.stem
        for p in FILES + EARLIER
        if '"encoding": "anNvbi9wbGFpbg=="' in without_markers(p)  # base64 of json/plain
    ]
    assert not clear, f"recorded without the payload codec (run `make histories`): {clear}"
