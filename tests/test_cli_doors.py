"""Bad input stops at the door (exit 2, the field named, nothing written), production refuses
the development fakes and the demo data, and every failure prints one JSON document."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from domain.rules import SNAKE_CASE, is_registered
from infra.config import get_settings
from infra.migrate import upgrade
from starter.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", url)
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("PARTNERFLOW_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    upgrade(url)
    yield path
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, Any]:
    """``partnerflow ARGS --json``: the exit code and the ONE JSON document on stdout."""
    result = runner.invoke(app, [*args, "--json"])
    assert "Traceback" not in result.output
    doc = json.loads(result.stdout)  # raises if stdout is not exactly one JSON document
    if result.exit_code != 0:
        assert SNAKE_CASE.match(doc["rule"]) and is_registered(doc["rule"]), doc
    return result.exit_code, doc


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_line_break_in_an_imported_name_is_refused_with_row_and_field(
    db: Path, tmp_path: Path
) -> None:
    customers = [
        {"id": "C-1", "name": "Good Co", "email": "c1@x.test"},
        {"id": "C-2", "name": "Evil\r\nBcc: x@y", "email": "c2@x.test"},
    ]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(customers))
    code, out = run("import", "customers", str(path))
    assert code == 2 and out["rule"] == "invalid_rows", out
    assert "row 2, field 'name'" in out["error"] and "control characters" in out["error"]
    assert count(db, "customers") == 0  # all or nothing: the good row is not written either

    partners = (
        "id,company_name,uscc,contact_email,type\n"
        'P-1,"Evil\r\nBcc: x@y",91350100M000100Y43,a@alpha.test,solution_provider\n'
    )
    path = tmp_path / "p.csv"
    path.write_bytes(partners.encode())
    code, out = run("import", "partners", str(path))
    assert code == 2 and "row 1, field 'company_name'" in out["error"], out
    assert count(db, "partners") == 0


def test_a_file_that_is_not_utf8_or_not_a_file_exits_2(db: Path, tmp_path: Path) -> None:
    latin1 = tmp_path / "customers.csv"
    latin1.write_bytes("id,name,email\nC-1,Société Générale,c@x.test\n".encode("latin-1"))
    code, out = run("import", "customers", str(latin1))
    assert code == 2 and out["rule"] == "invalid_file", out
    assert "customers.csv: not UTF-8" in out["error"] and "line 2" in out["error"]

    code, out = run("import", "customers", str(tmp_path))
    assert code == 2 and out["rule"] == "invalid_file", out
    assert "is a directory" in out["error"] and str(tmp_path) in out["error"]

    invoice = tmp_path / "invoice.json"
    invoice.write_bytes(b'{"invoice_number": "\xff"}')
    code, out = run(
        "payout", "invoice", "incentive-P-1-2026-10", "--file", str(invoice), "--as", "x"
    )
    assert code == 2 and "invoice.json: not UTF-8" in out["error"], out
    assert count(db, "customers") == 0


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--validity", "99999999d", "--validity: 99999999d is longer than 366 days"),
        ("--validity", "0s", "--validity: must be positive"),
        ("--validity", "soon", "--validity: 'soon' is not a duration"),
        ("--validity", "367d", "--validity: 367d is longer than 366 days"),
        ("--reminder-before", "-1d", "--reminder-before:"),
    ],
)
def test_durations_out_of_bounds_exit_2_naming_the_option(
    db: Path, option: str, value: str, problem: str
) -> None:
    code, out = run("invite", "--partner", "P-1", "--customer", "C-1", "--as", "x", option, value)
    assert code == 2 and out["rule"] == "invalid_duration", out
    assert out["error"].startswith(problem), out


def test_resend_and_unbind_take_the_duration_options(db: Path) -> None:
    code, out = run("invitation", "resend", "invitation-P-1-C-1", "--as", "x", "--validity", "400d")
    assert code == 2 and out["error"].startswith("--validity: 400d is longer"), out
    for command in (["unbind"], ["switch-mode", "--to", "resale"]):
        code, out = run(*command, "--binding", "1", "--as", "x", "--window", "99999999d")
        assert code == 2 and out["error"].startswith("--window:"), out
        code, out = run(*command, "--binding", "1", "--as", "x", "--reminder-before", "2y")
        assert code == 2 and out["error"].startswith("--reminder-before:"), out


def test_production_refuses_the_fakes_and_the_demo_data(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNERFLOW_ENVIRONMENT", "production")
    monkeypatch.setenv("PARTNERFLOW_LINK_SECRET", "s" * 48)
    # Its own codec key (not the dev key), so that what is refused below is the fakes.
    monkeypatch.setenv("PARTNERFLOW_CODEC_KEYS", "prod:" + base64.b64encode(b"k" * 32).decode())
    get_settings.cache_clear()
    code, out = run("demo-data")
    assert code == 1 and out["rule"] == "demo_data_in_production", out
    assert "PARTNERFLOW_ENVIRONMENT=production" in out["error"]
    assert count(db, "partners") == 0 and count(db, "customers") == 0

    code, out = run("tasks", "--all")
    assert code == 2 and out["rule"] == "invalid_configuration", out
    assert "PARTNERFLOW_PAYMENT_GATEWAY=fake" in out["error"]
    assert "PARTNERFLOW_BANK_VERIFIER=fake" in out["error"]


def test_duration_settings_are_bounded_and_named(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERFLOW_UNBIND_APPROVAL_WINDOW", "99999999d")
    get_settings.cache_clear()
    code, out = run("tasks", "--all")
    assert code == 2 and "PARTNERFLOW_UNBIND_APPROVAL_WINDOW" in out["error"], out
    assert "longer than 366 days" in out["error"]
