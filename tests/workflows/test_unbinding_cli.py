"""The unbinding commands in-process against the real dev server (the CLI indexes workflows by
PartnerId/CustomerId, which the time-skipping server does not know): staff refused with exit
1, an admin's request, a second one refused, the customer's approval, and a new invitation."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from domain.parties import AssociationMode, Role
from infra.tables import Binding
from infra.tables.unbinding import BindingChangeRequest
from tests.factories import add_binding, add_customer, add_partner, add_user
from tests.harness import run_cli
from tests.workflows.test_unbinding import rows

pytestmark = pytest.mark.devserver

Sessions = async_sessionmaker[AsyncSession]


async def test_unbind_from_the_cli_then_invite_again(
    dev_env: WorkflowEnvironment, sessions: Sessions, cli_env: dict[str, str], dev_worker: None
) -> None:
    await add_partner(sessions, "P-CLI3")
    await add_user(sessions, "pa-cli3", Role.PARTNER_ADMIN, partner_id="P-CLI3")
    await add_user(sessions, "ps-cli3", Role.PARTNER_STAFF, partner_id="P-CLI3")
    await add_customer(sessions, "C-CLI3")
    b = await add_binding(sessions, "P-CLI3", "C-CLI3", AssociationMode.CONSULTING)

    code, out = await run_cli(cli_env, "unbind", "--binding", str(b), "--as", "ps-cli3")
    assert code == 1 and out["rule"] == "partner_admin_only", out
    assert "only a partner_admin of P-CLI3" in out["error"]
    assert await rows(sessions, BindingChangeRequest) == []

    code, out = await run_cli(cli_env, "unbind", "--binding", "999", "--as", "pa-cli3")
    assert code == 2 and "--binding" in out["error"], out

    code, out = await run_cli(
        cli_env, "unbind", "--binding", str(b), "--as", "pa-cli3", "--reason", "contract ended"
    )
    assert code == 0 and out["status"] == "PENDING", out
    wf_id = out["workflow_id"]
    assert wf_id == f"binding-change-{b}"

    code, out = await run_cli(cli_env, "tasks", "--as", "C-CLI3")
    assert code == 0 and [t["workflow_id"] for t in out] == [wf_id], out
    code, out = await run_cli(cli_env, "tasks", "--as", "ps-cli3")
    assert code == 0 and out == [], out

    code, out = await run_cli(cli_env, "unbind", "--binding", str(b), "--as", "C-CLI3")
    assert code == 1 and out["rule"] == "already_running" and wf_id in out["error"], out

    code, out = await run_cli(cli_env, "request", "approve", wf_id, "--as", "ps-cli3")
    assert code == 1 and out["rule"] == "customer_decides", out

    code, out = await run_cli(cli_env, "request", "approve", wf_id, "--as", "C-CLI3")
    assert code == 0 and out["status"] == "APPROVED" and out["decided_by"] == "C-CLI3", out
    (binding,) = await rows(sessions, Binding)
    assert (binding.status, binding.ended_by) == ("ended", "C-CLI3")
    assert binding.ended_at is not None

    # once the workflow is over, a late decision is answered from the database
    await dev_env.client.get_workflow_handle(wf_id).result()
    (request,) = await rows(sessions, BindingChangeRequest)
    code, out = await run_cli(cli_env, "request", "reject", str(request.id), "--as", "C-CLI3")
    assert code == 1 and out["rule"] == "request_approved", out
    assert "already approved by C-CLI3" in out["error"]

    code, out = await run_cli(
        cli_env,
        "invite",
        "--partner",
        "P-CLI3",
        "--customer",
        "C-CLI3",
        "--as",
        "ps-cli3",
        "--mode",
        "consulting",
    )
    assert code == 0 and out["status"] == "PENDING", out
    code, out = await run_cli(
        cli_env, "invitation", "cancel", out["workflow_id"], "--as", "ps-cli3"
    )
    assert code == 0, out
