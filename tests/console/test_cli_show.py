"""The CLI's ``payout show`` and ``schedules trigger`` after their bodies moved into the
services the console and the API call (``payout_show``, ``trigger_schedule``): the same
answers from the same functions, on the dev server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from infra.config import get_settings
from infra.db import make_engine, make_sessions
from infra.migrate import upgrade
from starter.cli import app
from starter.stack.schedules import SCHEDULES, apply_schedules
from tests.console.test_partner_pages import PAYOUT, _payout
from tests.factories import add_partner
from tests.harness import eventually, new_task_queue

runner = CliRunner()


@pytest.fixture
def cli_env(dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI on a fresh database and the dev server."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", url)
    monkeypatch.setenv(
        "PARTNERFLOW_TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host
    )
    monkeypatch.setenv("PARTNERFLOW_TASK_QUEUE", new_task_queue())
    get_settings.cache_clear()
    upgrade(url)
    return url


async def invoke(*args: str) -> tuple[int, str]:
    # The CLI runs its own event loop: off this test's loop, in a thread.
    result = await asyncio.to_thread(runner.invoke, app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout


async def test_payout_show_reads_the_database_when_no_workflow_answers(cli_env: str) -> None:
    engine = make_engine(cli_env)
    try:
        sessions = make_sessions(engine)
        await add_partner(sessions, "P-1")
        await _payout(sessions)
    finally:
        await engine.dispose()
    code, out = await invoke("payout", "show", PAYOUT, "--json")
    assert code == 0, out
    view = json.loads(out)
    assert (view["status"], view["payment_reference"]) == ("PAID", "PAY-7781")
    assert view["statement"]["payable"] == "5900.00"
    assert [i["invoice_number"] for i in view["invoices"]] == ["INV-55012"]


async def test_schedules_trigger_from_the_cli(cli_env: str, dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    code, out = await invoke("schedules", "trigger", "renewal-scan-daily", "--json")
    assert code != 0 and "schedule_missing" in out  # never applied: refused by its rule
    await apply_schedules(client, get_settings())
    try:
        handle = client.get_schedule_handle("renewal-scan-daily")
        before = len((await handle.describe()).info.recent_actions)
        code, out = await invoke("schedules", "trigger", "renewal-scan-daily", "--json")
        assert code == 0 and json.loads(out) == {"id": "renewal-scan-daily", "triggered": True}

        async def ran() -> None:
            assert len((await handle.describe()).info.recent_actions) == before + 1

        await eventually(ran)
    finally:
        for entry in SCHEDULES:
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(entry.id).delete()
        get_settings.cache_clear()
