"""``partnerflow user set-password`` reads the password from stdin, never from argv."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.parties import Role
from infra.config import get_settings
from infra.db import make_engine, make_sessions
from infra.migrate import upgrade
from starter.cli import app
from starter.console.auth import check_password
from tests.factories import add_customer, add_user

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def test_set_password_from_stdin_then_sign_in_checks_it(db: str) -> None:
    async def seed() -> None:
        engine = make_engine(db)
        sessions = make_sessions(engine)
        await add_user(sessions, "fin-1", Role.FINANCE)
        await add_customer(sessions, "C-1")
        await engine.dispose()

    async def check(password: str) -> str | None:
        engine = make_engine(db)
        try:
            return await check_password(make_sessions(engine), "fin-1", password)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    ok = runner.invoke(app, ["user", "set-password", "fin-1", "--json"], input="a long secret 1\n")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {"user": "fin-1", "password": "set"}
    assert "a long secret" not in ok.stdout
    assert asyncio.run(check("a long secret 1")) == "fin-1"
    assert asyncio.run(check("a long secret 2")) is None

    weak = runner.invoke(app, ["user", "set-password", "fin-1", "--json"], input="short\n")
    assert weak.exit_code == 2 and "at least 10 characters" in weak.stdout
    customer = runner.invoke(
        app, ["user", "set-password", "C-1", "--json"], input="x" * 5 + "abcdefgh\n"
    )
    assert customer.exit_code == 2 and "customers sign in by emailed link" in customer.stdout
