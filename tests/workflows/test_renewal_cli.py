"""The renewal and authorization commands in-process against the real dev server: import,
scan, claim, feedback, a re-import that completes the task, and an authorization reused."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from domain.parties import AssociationMode
from infra.db import utcnow
from infra.tables import Subscription
from tests.harness import eventually, run_cli
from tests.workflows.test_renewal_fixtures import setup_party

pytestmark = pytest.mark.devserver

Sessions = async_sessionmaker[AsyncSession]


def _csv(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """A subscriptions CSV; the last column of each row holds "billing,expires_at,auto_renew"."""
    lines = ["order_id,customer_id,product,amount,billing,expires_at,auto_renew"]
    lines += [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_import_scan_claim_feedback_and_renewal_by_import(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    cli_env: dict[str, str],
    dev_worker: None,
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:6]
    pid, cid = f"P-{run}", f"C-{run}"
    now = utcnow()
    party = await setup_party(sessions, now, partner_id=pid, customer_id=cid)
    big, small = f"O-{run}-1", f"O-{run}-2"
    expiry = (now + timedelta(days=20)).replace(microsecond=0)
    good = [
        (big, cid, "GaussDB cluster", "80000.00", f"yearly,{expiry.isoformat()},false"),
        (small, cid, "OBS bucket", "1200.00", f"yearly,{expiry.isoformat()},false"),
    ]
    bad = [*good, (f"O-{run}-3", "C-nobody", "ECS", "-5", "weekly,2027-01-01T00:00:00,false")]
    code, out = await run_cli(
        cli_env, "import", "subscriptions", str(_csv(tmp_path / "bad.csv", bad))
    )
    assert code == 2 and out["rule"] == "invalid_rows", out
    assert {d["field"] for d in out["details"]} >= {"amount", "billing", "expires_at"}
    async with sessions() as s:
        assert (await s.scalars(select(Subscription))).all() == []

    code, out = await run_cli(
        cli_env, "import", "subscriptions", str(_csv(tmp_path / "s.csv", good))
    )
    assert code == 0 and out["inserted"] == 2, out

    code, out = await run_cli(cli_env, "renewals", "scan", "--as-of", f"{now:%Y-%m-%d}")
    assert code == 0 and (out["candidates"], out["started"]) == (1, 1), out
    task = f"renewal-{big}-{expiry:%Y%m%d}"

    async def listed() -> list[dict[str, Any]]:
        code, out = await run_cli(cli_env, "renewals", "list", "--as", party.staff.user_id)
        assert code == 0 and [t["status"] for t in out] == ["OPEN"], out
        return out  # type: ignore[no-any-return]

    assert (await eventually(listed))[0]["workflow_id"] == task

    code, out = await run_cli(cli_env, "renewal", "claim", task, "--as", party.staff.user_id)
    assert code == 0 and out["status"] == "CLAIMED", out
    code, out = await run_cli(cli_env, "renewal", "claim", task, "--as", party.staff2.user_id)
    assert code == 1 and "already claimed" in out["error"], out
    code, out = await run_cli(
        cli_env,
        "renewal",
        "feedback",
        task,
        "--outcome",
        "customer_declines",
        "--as",
        party.staff.user_id,
    )
    assert code == 2 and out["error"].startswith("--reason"), out
    code, out = await run_cli(
        cli_env, "renewal", "feedback", task, "--outcome", "will_renew", "--as", party.staff.user_id
    )
    assert code == 0 and out["status"] == "WILL_RENEW", out

    # The customer renewed: the next billing export moves the expiry a year later.
    later = expiry + timedelta(days=365)
    renewed = [(big, cid, "GaussDB cluster", "80000.00", f"yearly,{later.isoformat()},false")]
    code, out = await run_cli(
        cli_env, "import", "subscriptions", str(_csv(tmp_path / "r.csv", renewed))
    )
    assert code == 0 and out["updated"] == 1, out
    assert any(task in n for n in out["notes"]), out
    result = await dev_env.client.get_workflow_handle(task).result()
    assert result["status"] == "RENEWED"

    # Authorization: refused without the letter, then asked, approved, and reused.
    ask = (
        "authorization",
        "request",
        "--partner",
        pid,
        "--customer",
        cid,
        "--as",
        party.staff.user_id,
    )
    code, out = await run_cli(cli_env, *ask)
    assert code == 1 and out["rule"] == "commitment_letter_required", out
    code, out = await run_cli(cli_env, *ask, "--accept-commitment-letter")
    assert code == 0 and out["status"] == "AWAITING_CUSTOMER", out
    auth = out["workflow_id"]
    code, out = await run_cli(
        cli_env, "authorization", "approve", auth, "--as", party.staff.user_id
    )
    assert code == 1 and "only customer" in out["error"], out
    code, out = await run_cli(cli_env, "authorization", "approve", auth, "--as", cid)
    assert code == 0 and out["status"] == "APPROVED", out
    code, out = await run_cli(cli_env, *ask)
    assert code == 0 and out["status"] == "APPROVED" and out["workflow_id"] == auth, out
    code, out = await run_cli(
        cli_env, "authorization", "revoke", auth, "--as", cid, "--reason", "done"
    )
    assert code == 0 and out["status"] == "REVOKED", out


async def test_partner_payment_refused_by_the_cli_precheck(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    cli_env: dict[str, str],
    dev_worker: None,
    tmp_path: Path,
) -> None:
    run = uuid.uuid4().hex[:6]
    pid, cid = f"P-{run}", f"C-{run}"
    now = utcnow()
    party = await setup_party(
        sessions,
        now,
        partner_id=pid,
        customer_id=cid,
        partner_type="cloud_reseller",
        mode=AssociationMode.CONSULTING,
    )
    expiry = (now + timedelta(days=5)).replace(microsecond=0)
    order = f"O-{run}"
    rows = [(order, cid, "ECS", "50000.00", f"monthly,{expiry.isoformat()},false")]
    code, out = await run_cli(
        cli_env, "import", "subscriptions", str(_csv(tmp_path / "s.csv", rows))
    )
    assert code == 0, out
    code, out = await run_cli(cli_env, "renewals", "scan")
    assert code == 0 and out["started"] >= 1, out
    task = f"renewal-{order}-{expiry:%Y%m%d}"
    code, out = await run_cli(
        cli_env,
        "renewal",
        "feedback",
        task,
        "--outcome",
        "partner_pays",
        "--as",
        party.admin.user_id,
    )
    assert code == 1 and out["rule"] == "partner_payment", out
    assert "cloud reseller" in out["error"]
    code, out = await run_cli(cli_env, "renewal", "claim", "renewal-nope-20270101", "--as", "x")
    assert code == 2, out
    await dev_env.client.get_workflow_handle(task).terminate("test done")
