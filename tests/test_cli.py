"""The CLI contract without a Temporal server: imports, refusals and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.config import get_settings
from infra.migrate import upgrade
from starter.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", url)
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens there
    # A command waits this long for an unreachable server before it answers.
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_CONNECT_WAIT_SECONDS", "0.5")
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, dict | list]:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


PARTNERS_CSV = """id,company_name,uscc,contact_email,type,consulting_permission
P-1,Alpha Cloud,91350100M000100Y43,a@alpha.test,solution_provider,true
P-2,Beta Resale,91350100M000100Y43,b@beta.test,cloud_reseller,false
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_then_reimport_updates(db: str, tmp_path: Path) -> None:
    code, out = run("import", "partners", str(write(tmp_path, "p.csv", PARTNERS_CSV)))
    assert code == 0 and out["inserted"] == 2  # type: ignore[call-overload]
    code, out = run("import", "partners", str(write(tmp_path, "p.csv", PARTNERS_CSV)))
    assert code == 0 and out["updated"] == 2  # type: ignore[call-overload]


def test_one_bad_row_refuses_the_whole_file(db: str, tmp_path: Path) -> None:
    customers = [
        {"id": "C-1", "name": "Good", "email": "c1@x.test"},
        {"id": "C-2", "name": "Good too", "email": "c2@x.test", "has_credit_account": True},
        {"id": "C-3", "name": "Bad", "email": "not-an-email"},
    ]
    code, out = run("import", "customers", str(write(tmp_path, "c.json", json.dumps(customers))))
    assert code == 2
    assert "row 3, field 'email'" in out["error"] and "nothing was imported" in out["error"]  # type: ignore[call-overload]
    code, out = run(
        "import", "customers", str(write(tmp_path, "ok.json", json.dumps(customers[:2])))
    )
    assert code == 0 and out["inserted"] == 2  # type: ignore[call-overload]


def test_references_and_roles_are_checked(db: str, tmp_path: Path) -> None:
    users = "id,name,email,role,partner_id\nu-1,Ann,ann@x.test,partner_admin,P-404\nu-2,Bob,bob@x.test,ops,\n"
    code, out = run("import", "partner-users", str(write(tmp_path, "u.csv", users)))
    assert code == 2 and "row 1, field 'partner_id': no partner P-404" in out["error"]  # type: ignore[call-overload]
    bad_role = "id,name,email,role\nu-3,Cy,cy@x.test,partner_staff\n"
    code, out = run("import", "partner-users", str(write(tmp_path, "r.csv", bad_role)))
    assert code == 2 and "needs partner_id" in out["error"]  # type: ignore[call-overload]


def test_bad_usage_exits_2(db: str, tmp_path: Path) -> None:
    code, out = run("import", "planets", str(write(tmp_path, "x.csv", "a\n1\n")))
    assert code == 2 and "unknown kind" in out["error"]  # type: ignore[call-overload]
    code, out = run("import", "partners", str(tmp_path / "missing.csv"))
    assert code == 2 and "does not exist" in out["error"]  # type: ignore[call-overload]
    code, out = run("invite", "--partner", "P-1", "--customer", "C-1", "--as", "nobody")
    assert code == 2 and out["rule"] == "unknown_user"  # type: ignore[call-overload]
    code, out = run(
        "invite", "--partner", "P-1", "--customer", "C-1", "--as", "x", "--validity", "soon"
    )
    assert code == 2


def test_a_refused_invitation_exits_1_before_touching_temporal(db: str, tmp_path: Path) -> None:
    run("import", "partners", str(write(tmp_path, "p.csv", PARTNERS_CSV)))
    run(
        "import",
        "customers",
        str(
            write(
                tmp_path,
                "c.json",
                json.dumps(
                    [
                        {
                            "id": "C-1",
                            "name": "Credit",
                            "email": "c1@x.test",
                            "has_credit_account": True,
                        }
                    ]
                ),
            )
        ),
    )
    users = "id,name,email,role,partner_id\nu-1,Ann,ann@x.test,partner_staff,P-1\n"
    run("import", "partner-users", str(write(tmp_path, "u.csv", users)))
    code, out = run("invite", "--partner", "P-1", "--customer", "C-1", "--as", "u-1")
    assert code == 1 and out["rule"] == "credit_account_no_resale"  # type: ignore[call-overload]
    assert "consulting mode instead" in out["error"]  # type: ignore[call-overload]
    # consulting is allowed, and then Temporal is needed: a clear error, not a traceback
    code, out = run(
        "invite", "--partner", "P-1", "--customer", "C-1", "--as", "u-1", "--mode", "consulting"
    )
    assert code == 1 and "cannot reach Temporal" in out["error"]  # type: ignore[call-overload]


def test_every_command_explains_itself() -> None:
    import typer.main

    group = typer.main.get_command(app)

    def walk(cmd: object, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    paths = list(walk(group, []))
    assert len(paths) > 15
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage" in result.output
