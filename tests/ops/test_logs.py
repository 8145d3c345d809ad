"""Log lines written in an activity carry the Temporal ids and the idempotency key, and no
email address (an SMTP error quoting the recipient is masked)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from activities.registry import Deps
from infra.logs import make_handler
from infra.smtp_sink import MailSink
from tests.activities.test_platform_activities import invitation_email
from tests.harness import new_task_queue
from tests.ops.email_probe import EmailProbeWorkflow
from worker import build_worker

ADDRESS = "bob.smith@example.com"


class Raw(logging.Handler):
    """Keeps the unformatted messages (to show that the address did reach the logger)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(
            record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        )


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, Raw]]:
    out, raw = io.StringIO(), Raw()
    handler = make_handler("json", out)
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(raw)
    try:
        yield out, raw
    finally:
        root.removeHandler(handler)
        root.removeHandler(raw)


async def test_activity_log_line_has_ids_and_no_email(
    client: Client, deps: Deps, mailbox: MailSink, captured: tuple[io.StringIO, Raw]
) -> None:
    out, raw = captured
    mailbox.handler.fail_next.append(f"451 4.2.0 mailbox of {ADDRESS} is busy, try later")
    key = f"probe-{uuid.uuid4().hex[:8]}"
    wf_id = f"email-probe-{key}"
    worker = build_worker(client, deps, task_queue=new_task_queue(), workflows=[EmailProbeWorkflow])
    async with worker:
        handle = await client.start_workflow(
            EmailProbeWorkflow.run,
            invitation_email(key, ADDRESS),
            id=wf_id,
            task_queue=worker.task_queue,
        )
        assert await handle.result() == "failed"

    assert any(ADDRESS in t for t in raw.texts), "the failure must quote the address"
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    mine = [
        d
        for d in lines
        if d.get("activity_type") == "send_email" and d.get("idempotency_key") == key
    ]
    assert mine, lines
    line = mine[0]
    assert line["workflow_id"] == wf_id and line["run_id"] == handle.result_run_id
    assert "451" in line["message"] and "<email>" in line["message"]
    assert all("@" not in json.dumps(d) for d in lines), [d for d in lines if "@" in json.dumps(d)]
