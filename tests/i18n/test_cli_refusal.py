"""A refusal through the CLI in both languages, against the real dev server and worker: the
rule id stays, the message follows ``--lang`` or LANG."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from domain.parties import Role
from starter.cli import app
from tests.factories import add_customer, add_partner, add_user

pytestmark = pytest.mark.devserver
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The CLI's environment with no language of its own: C.UTF-8 unless a test says."""
    return {**cli_env, "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}


async def cli(env: dict[str, str], *args: str, as_json: bool = True) -> tuple[int, Any]:
    tail = ["--json"] if as_json else []
    result = await asyncio.to_thread(
        CliRunner().invoke, app, [*args, *tail], env=env, catch_exceptions=False
    )
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout) if as_json else result.stderr


INVITE = ("invite", "--partner", "P-L1", "--customer", "C-L1", "--as", "ps-l1")


async def test_a_refusal_in_chinese_and_in_english(
    sessions: Sessions, cli_env: dict[str, str], dev_worker: None
) -> None:
    await add_partner(sessions, "P-L1")
    await add_user(sessions, "ps-l1", Role.PARTNER_STAFF, partner_id="P-L1")
    await add_customer(sessions, "C-L1", has_special_contract=True)

    code, zh = await cli(cli_env, "--lang", "zh-CN", *INVITE)
    assert code == 1, zh
    assert zh["rule"] == "special_contract", zh
    assert zh["error"] == "客户有特殊合同，无法关联伙伴。", zh
    assert "special contract" in zh["detail"]  # the English detail stays for scripts and ops

    code, en = await cli(cli_env, *INVITE)  # LANG=C: English
    assert code == 1 and en["rule"] == "special_contract", en
    assert en["error"] == zh["detail"] and "detail" not in en, en

    code, from_lang = await cli({**cli_env, "LANG": "zh_CN.UTF-8"}, *INVITE)
    assert from_lang["error"] == zh["error"], from_lang

    code, human = await cli({**cli_env, "LANG": "zh_CN.UTF-8"}, *INVITE, as_json=False)
    assert code == 1 and "拒绝" in human and "客户有特殊合同" in human, human
