"""The ``locale`` and ``timezone`` import columns: normalised, checked, empty = site default."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from infra.config import get_settings
from infra.migrate import upgrade
from starter.cli import app


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", url)
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("PARTNERFLOW_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    upgrade(url)
    yield path
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_customers_import_their_language_and_zone(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,name,email,locale,timezone\n"
        "C-1,杭州云桥,c1@x.test,zh_CN,\n"
        "C-2,Lotus Finance,c2@x.test,en-US,Asia/Singapore\n"
        "C-3,Plain Co,c3@x.test,,\n",
        encoding="utf-8",
    )
    code, out = run("import", "customers", str(path))
    assert code == 0, out
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, locale, timezone FROM customers ORDER BY id").fetchall()
    assert rows == [("C-1", "zh-CN", None), ("C-2", "en", "Asia/Singapore"), ("C-3", None, None)]


def test_an_unknown_language_or_zone_is_refused_with_row_and_field(
    db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "partners.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id": "P-1",
                    "company_name": "Alpha",
                    "uscc": "91350100M000100Y43",
                    "contact_email": "a@alpha.test",
                    "type": "solution_provider",
                    "locale": "fr",
                },
                {
                    "id": "P-2",
                    "company_name": "Beta",
                    "uscc": "91350100M000100Y43",
                    "contact_email": "b@beta.test",
                    "type": "solution_provider",
                    "timezone": "Mars/Olympus",
                },
            ]
        )
    )
    code, out = run("import", "partners", str(path))
    assert code == 2 and out["rule"] == "invalid_rows", out
    assert "row 1, field 'locale'" in out["error"] and "zh-CN or en" in out["error"], out
    assert "row 2, field 'timezone'" in out["error"], out
