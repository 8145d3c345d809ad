"""CLI commands whose bodies now build the console's input models: their messages, exit codes
and output are the CLI's (ops record partner facts, invite to a path, release held payouts)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.parties import Role
from infra.tables import Partner
from tests.console.test_start_forms import new_uscc, uid
from tests.factories import add_partner, add_user
from tests.harness import run_cli

pytestmark = pytest.mark.devserver

Sessions = async_sessionmaker[AsyncSession]


async def test_ops_record_partner_facts_from_the_cli(
    sessions: Sessions, cli_env: dict[str, str]
) -> None:
    pid = uid("P")
    await add_partner(sessions, pid, uscc=new_uscc())
    await add_user(sessions, "ops-1", Role.OPS)
    await add_user(sessions, "ps-1", Role.PARTNER_STAFF, partner_id=pid)
    rec = ("partner", "record-solutions", pid, "--as")
    code, out = await run_cli(cli_env, *rec, "ps-1", "--certified", "1", "--advanced", "0")
    assert code == 1 and out["rule"] == "not_ops", out
    code, out = await run_cli(cli_env, *rec, "ops-1", "--certified", "1", "--advanced", "2")
    assert code == 2 and out["error"] == "--advanced: cannot exceed certified", out
    code, out = await run_cli(cli_env, *rec, "ops-1", "--certified", "3", "--advanced", "1")
    assert code == 0 and out["certified_solutions"] == 3 and out["recorded_by"] == "ops-1", out
    async with sessions() as s:
        row = await s.get(Partner, pid)
    assert row is not None and (row.certified_solutions, row.advanced_solutions) == (3, 1)

    cert = ("partner", "record-certificate", pid, "--as", "ops-1", "--holder", "li.lei")
    code, out = await run_cli(cli_env, *cert, "--kind", "HCIP", "--number", "N-1", "--issued", "x")
    assert code == 2 and out["error"].startswith("--issued: 'x' is not a date"), out
    code, out = await run_cli(cli_env, *cert, "--kind", "HCIP", "--number", "N-1")
    assert code == 0 and out == {
        "partner_id": pid,
        "holder": "li.lei",
        "kind": "HCIP",
        "number": "N-1",
    }
    code, out = await run_cli(cli_env, *cert, "--kind", "HCIA", "--number", "N-1")
    assert code == 1 and out["rule"] == "certificate_exists", out

    case = ("partner", "record-case", pid, "--as", "ops-1", "--case-id", "K-1", "--title", "ERP")
    code, out = await run_cli(cli_env, *case, "--completed", "2999-01-01")
    assert code == 2 and out["error"] == "--completed: the date is in the future", out
    code, out = await run_cli(cli_env, *case, "--completed", "2026-05-01")
    assert code == 0 and out["case_id"] == "K-1", out
    code, out = await run_cli(cli_env, "partner", "record-case", "P-NONE", "--as", "ops-1",
                          "--case-id", "K-2", "--title", "ERP", "--completed", "2026-05-01")  # fmt: skip
    assert code == 2 and "no partner with id 'P-NONE'" in out["error"], out


async def test_path_invite_and_certification_recorded_from_the_cli(
    sessions: Sessions, cli_env: dict[str, str], dev_worker: None
) -> None:
    pid = uid("P")
    await add_partner(sessions, pid, uscc=new_uscc())
    await add_user(sessions, "ops-1", Role.OPS)
    await add_user(sessions, f"{pid}-admin", Role.PARTNER_ADMIN, partner_id=pid)
    invite = ("path", "invite", "--partner", pid, "--path", "software", "--as", "ops-1")
    code, out = await run_cli(cli_env, *invite, "--validity", "400d")
    assert code == 2 and out["rule"] == "invalid_duration", out
    assert out["error"] == "--validity: 400d is longer than 366 days", out
    code, out = await run_cli(cli_env, *invite)
    assert code == 0 and out["workflow_id"] == f"path-{pid}-software", out
    code, out = await run_cli(cli_env, "payout", "certification-recorded", "--partner", pid,
                          "--as", "ops-1")  # fmt: skip
    assert code == 0 and out == {"partner_id": pid, "signalled": []}, out
