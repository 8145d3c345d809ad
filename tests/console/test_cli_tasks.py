"""``partnerflow tasks claim|release|reassign``: the same rules as the console's buttons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.parties import Role
from infra.config import get_settings
from infra.db import make_engine, make_sessions, utcnow
from infra.migrate import upgrade
from infra.tables import HumanTask
from starter.cli import app
from tests.factories import add_partner, add_user

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", url)
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")  # not needed: no renewal
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_CONNECT_WAIT_SECONDS", "0.5")
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, json.loads(result.stdout)


def test_claim_release_reassign_from_the_cli(db: str) -> None:
    async def seed() -> int:
        engine = make_engine(db)
        sessions = make_sessions(engine)
        await add_partner(sessions, "P-1")
        await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
        await add_user(sessions, "fin-1", Role.FINANCE)
        await add_user(sessions, "fin-2", Role.FINANCE)
        await add_user(sessions, "ops-1", Role.OPS)
        async with sessions.begin() as s:
            row = HumanTask(
                idempotency_key="t1",
                kind="incentive_approval",
                title="Approve it",
                workflow_id="incentive-x",
                assignee_role="finance",
                created_at=utcnow(),
                status="open",
            )
            s.add(row)
            await s.flush()
            task_id = row.id
        await engine.dispose()
        return task_id

    tid = str(asyncio.run(seed()))
    assert run("tasks", "claim", tid, "--as", "fin-1") == (
        0,
        {"id": int(tid), "title": "Approve it", "assignee_user": "fin-1"},
    )
    code, out = run("tasks", "claim", tid, "--as", "fin-2")
    assert code == 1 and "fin-1 claimed this task first" in out["error"]
    code, out = run("tasks", "claim", tid, "--as", "pa-1")  # outside its scope: not found
    assert code == 2 and out["rule"] == "not_found"
    code, out = run("tasks", "reassign", tid, "--to", "fin-2", "--as", "fin-1")
    assert code == 1 and "only ops" in out["error"]
    code, out = run("tasks", "reassign", tid, "--to", "fin-2", "--as", "ops-1")
    assert code == 0 and out["assignee_user"] == "fin-2"
    code, out = run("tasks", "release", tid, "--as", "fin-2")
    assert code == 0 and out["assignee_user"] is None
    # The listing is unchanged.
    code, listed = run("tasks", "--as", "fin-1")
    assert code == 0 and [t["id"] for t in listed] == [int(tid)]
