"""``partnerflow import --dry-run`` and the import's progress bar, without a Temporal server."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from infra.config import get_settings
from infra.migrate import upgrade
from starter.cli import app
from starter.cli.imports import ProgressBar

runner = CliRunner()

PARTNERS = """id,company_name,uscc,contact_email,type,consulting_permission
P-1,Alpha Cloud,91350100M000100Y43,a@alpha.test,solution_provider,true
P-2,Beta Resale,91350100M000100Y43,b@beta.test,cloud_reseller,false
"""
# P-1's email changes, P-2 stays, P-3 is new.
PARTNERS_AGAIN = """id,company_name,uscc,contact_email,type,consulting_permission
P-1,Alpha Cloud,91350100M000100Y43,sales@alpha.test,solution_provider,true
P-2,Beta Resale,91350100M000100Y43,b@beta.test,cloud_reseller,false
P-3,Gamma Dist,91350100M000100Y43,g@gamma.test,distributor,false
"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_CONNECT_WAIT_SECONDS", "0.5")
    get_settings.cache_clear()
    upgrade(f"sqlite+aiosqlite:///{path}")
    yield path
    get_settings.cache_clear()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def partners(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("select id, contact_email from partners").fetchall())


def test_dry_run_names_inserts_and_updates_and_writes_nothing(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "partners", write(tmp_path, "p.csv", PARTNERS)])
    assert result.exit_code == 0, result.output
    again = write(tmp_path, "p2.csv", PARTNERS_AGAIN)

    result = runner.invoke(app, ["import", "partners", again, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # one JSON document
    assert (doc["dry_run"], doc["rows"], doc["inserts"], doc["updates"], doc["unchanged"]) == (
        True,
        3,
        1,
        1,
        1,
    )
    assert doc["changes"] == [
        {
            "row": 1,
            "key": "P-1",
            "action": "update",
            "table": "partners",
            "fields": [
                {"field": "contact_email", "old": "a@alpha.test", "new": "sales@alpha.test"}
            ],
        },
        {"row": 3, "key": "P-3", "action": "insert", "table": "partners", "fields": []},
    ]
    assert partners(db) == {"P-1": "a@alpha.test", "P-2": "b@beta.test"}

    human = runner.invoke(app, ["--lang", "en", "import", "partners", again, "--dry-run"])
    assert human.exit_code == 0, human.output
    assert "3 rows: 1 to insert, 1 to update, 1 unchanged; nothing was written" in human.stdout
    assert "row 1     update  P-1  contact_email: a@alpha.test → sales@alpha.test" in human.stdout
    assert "row 3     insert  P-3" in human.stdout
    assert partners(db) == {"P-1": "a@alpha.test", "P-2": "b@beta.test"}

    result = runner.invoke(app, ["import", "partners", again, "--json"])
    assert json.loads(result.stdout)["inserted"] == 1
    assert partners(db)["P-1"] == "sales@alpha.test"


def test_dry_run_refuses_a_bad_file_as_the_import_does(db: Path, tmp_path: Path) -> None:
    bad = PARTNERS + "P-3,Gamma,91350100M000100Y43,not-an-email,distributor,false\n"
    path = write(tmp_path, "bad.csv", bad)
    for extra in (["--dry-run"], []):
        result = runner.invoke(app, ["import", "partners", path, *extra, "--json"])
        assert result.exit_code == 2
        doc = json.loads(result.stdout)
        assert "row 3, field 'contact_email'" in doc["error"]
        assert "nothing was imported" in doc["error"]
        assert doc["details"][0]["row"] == 3 and doc["details"][0]["field"] == "contact_email"
    assert partners(db) == {}
    unknown = runner.invoke(app, ["import", "planets", path, "--dry-run", "--json"])
    assert unknown.exit_code == 2 and "unknown kind" in json.loads(unknown.stdout)["error"]


def test_dry_run_of_applications_counts_the_workflows_it_would_start(
    db: Path, tmp_path: Path
) -> None:
    users = "id,name,email,role\nops-1,Olga,olga@vendor.test,ops\n"
    assert (
        runner.invoke(app, ["import", "partner-users", write(tmp_path, "u.csv", users)]).exit_code
        == 0
    )
    apps = (
        "company_name,uscc,contact_email,type,submitted_by\n"
        "Delta Co,91350100M000100Y43,d@delta.test,solution_provider,ops-1\n"
    )
    result = runner.invoke(
        app, ["import", "applications", write(tmp_path, "a.csv", apps), "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["starts"] == 1 and doc["changes"][0]["action"] == "start"


def test_progress_bar_only_on_a_terminal_and_for_large_files() -> None:
    tty = io.StringIO()
    bar = ProgressBar(Console(file=tty, force_terminal=True, width=100), min_rows=1000)
    for done in (0, 200, 1200):
        bar(done, 1200)
    bar.close()
    assert "1200/1200" in tty.getvalue() and "rows" in tty.getvalue()

    small = io.StringIO()
    bar = ProgressBar(Console(file=small, force_terminal=True), min_rows=1000)
    bar(0, 10)
    bar(10, 10)
    bar.close()
    assert small.getvalue() == ""

    piped = io.StringIO()
    bar = ProgressBar(Console(file=piped, force_terminal=False), min_rows=1)
    bar(0, 5000)
    bar(5000, 5000)
    bar.close()
    assert piped.getvalue() == ""


def test_a_real_import_reports_its_rows_to_the_bar(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []

    def record(self: ProgressBar, done: int, total: int) -> None:
        seen.append((done, total))

    monkeypatch.setattr(ProgressBar, "__call__", record)
    rows = "".join(f"C-{n},Name {n},c{n}@x.test\n" for n in range(450))
    path = write(tmp_path, "c.csv", "id,name,email\n" + rows)
    assert runner.invoke(app, ["import", "customers", path]).exit_code == 0
    assert seen == [(0, 450), (200, 450), (400, 450), (450, 450)]
    seen.clear()
    assert runner.invoke(app, ["import", "customers", path, "--json"]).exit_code == 0
    assert seen == []  # no bar with --json
