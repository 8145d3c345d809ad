"""The ``--json`` contract on the failure paths, against the real dev server and worker: every
command prints exactly ONE JSON document (stdout parses as a whole), with a snake_case rule id
from domain/rules.py, and bad input stops before anything starts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.registry import Deps
from domain.parties import Role
from domain.rules import SNAKE_CASE, is_registered
from infra.tables import Customer
from starter.cli import app
from tests.factories import add_customer, add_partner, add_user
from tests.harness import end_if_running
from worker import build_worker

pytestmark = pytest.mark.devserver

Sessions = async_sessionmaker[AsyncSession]
USCC = "91350100M000100Y43"


@pytest.fixture
async def dev_worker(
    dev_env: WorkflowEnvironment, deps: Deps, cli_env: dict[str, str]
) -> AsyncIterator[list[str]]:
    started: list[str] = []
    async with build_worker(dev_env.client, deps, task_queue=cli_env["PARTNERFLOW_TASK_QUEUE"]):
        yield started
        for wf_id in started:  # end what the test left waiting for a person
            handle = dev_env.client.get_workflow_handle(wf_id)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await end_if_running(handle)


async def cli(env: dict[str, str], *args: str) -> tuple[int, Any]:
    """``partnerflow ARGS --json``: exit code and the one JSON document stdout must be."""
    result = await asyncio.to_thread(
        CliRunner().invoke, app, [*args, "--json"], env=env, catch_exceptions=False
    )
    assert "Traceback" not in result.output
    doc = json.loads(result.stdout)  # fails on two documents, or none
    if result.exit_code != 0:
        assert set(doc) >= {"error", "rule", "exit_code"}, doc
        assert SNAKE_CASE.match(doc["rule"]) and is_registered(doc["rule"]), doc
        assert doc["exit_code"] == result.exit_code
    return result.exit_code, doc


async def not_on_server(dev_env: WorkflowEnvironment, wf_id: str) -> bool:
    try:
        await dev_env.client.get_workflow_handle(wf_id).describe()
    except RPCError as exc:
        return exc.status == RPCStatusCode.NOT_FOUND
    return False


async def test_json_failure_paths_print_one_document(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    cli_env: dict[str, str],
    dev_worker: list[str],
) -> None:
    await add_partner(sessions, "P-J1")
    await add_user(sessions, "ps-j1", Role.PARTNER_STAFF, partner_id="P-J1")
    await add_user(sessions, "em-j1", Role.ECOSYSTEM_MANAGER)
    await add_customer(sessions, "C-J1")
    await add_customer(sessions, "C-J2")
    await add_customer(sessions, "C-APPJ", name="Acme J Ltd.", email="boss@acme-j.test")

    # bad input: exit 2 before anything starts
    code, out = await cli(
        cli_env,
        "invite",
        "--partner",
        "P-J1",
        "--customer",
        "C-J1",
        "--as",
        "ps-j1",
        "--validity",
        "99999999d",
    )
    assert code == 2 and out["error"].startswith("--validity:"), out
    assert await not_on_server(dev_env, "invitation-P-J1-C-J1")

    # an invitation refused at acceptance: the view AND the refusal used to be printed
    code, out = await cli(
        cli_env,
        "invite",
        "--partner",
        "P-J1",
        "--customer",
        "C-J2",
        "--as",
        "ps-j1",
        "--validity",
        "15m",
    )
    assert code == 0 and out["status"] == "PENDING", out
    wf_id = out["workflow_id"]
    dev_worker.append(wf_id)
    async with sessions.begin() as s:
        await s.execute(
            update(Customer).where(Customer.id == "C-J2").values(has_credit_account=True)
        )

    code, out = await cli(
        cli_env,
        "onboard",
        "--company",
        "Acme\r\nBcc: x@y",
        "--uscc",
        USCC,
        "--email",
        "boss@acme-j.test",
        "--type",
        "solution_provider",
        "--as",
        "C-APPJ",
    )
    assert code == 2 and "control characters" in out["error"], out

    code, out = await cli(
        cli_env,
        "onboard",
        "--company",
        "Acme J Ltd.",
        "--uscc",
        USCC,
        "--email",
        "boss@acme-j.test",
        "--type",
        "solution_provider",
        "--as",
        "C-APPJ",
    )
    assert code == 0, out
    app_id = out["workflow_id"]
    dev_worker.append(app_id)
    code, out = await cli(
        cli_env,
        "onboarding",
        "certify-bank",
        app_id,
        "--bank-name",
        "ICBC Shenzhen",
        "--bank-account",
        "6222000012345678",
        "--as",
        "C-APPJ",
    )
    assert code == 0 and out["status"] == "AWAITING_AMOUNT", out

    failures: list[tuple[list[str], int, str | None]] = [
        (["invitation", "accept", wf_id, "--as", "ps-j1"], 1, None),  # not the customer
        (["invitation", "accept", wf_id, "--as", "C-J2"], 1, "eligibility"),  # re-checked
        (["invitation", "decline", wf_id, "--as", "C-J2"], 1, None),  # decided
        (["invitation", "resend", "invitation-P-J1-C-J9", "--as", "ps-j1"], 2, None),
        (
            ["onboarding", "enter-amount", app_id, "--amount", "5.55", "--as", "C-APPJ"],
            1,
            "wrong_amount",
        ),
        (["onboarding", "enter-amount", app_id, "--amount", "lots", "--as", "C-APPJ"], 2, None),
        (["onboarding", "withdraw", app_id, "--as", "em-j1"], 1, None),
        (
            ["unbind", "--binding", "999", "--as", "ps-j1", "--window", "0s"],
            2,
            "invalid_duration",
        ),
        (["payout", "approve", "incentive-P-J1-2026-10", "--as", "em-j1"], 2, None),
        (["tasks", "--as", "nobody"], 2, "unknown_user"),
    ]
    for args, want_code, want_rule in failures:
        code, out = await cli(cli_env, *args)
        assert code == want_code, (args, out)
        assert want_rule is None or out["rule"] == want_rule, (args, out)
    # the view that came before the refusal is inside the one document
    code, out = await cli(
        cli_env, "onboarding", "enter-amount", app_id, "--amount", "5.56", "--as", "C-APPJ"
    )
    assert code == 1 and out["details"]["status"] == "AWAITING_AMOUNT", out
