"""The imports page and the import API in Chinese (issue 11): row errors and the importers'
notes are translated at display; the CLI's English (``RowError``, ``ImportRefusedError``) is
unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from domain.reference import CustomerRow
from infra.tables import User
from starter.imports.base import ImportRefusedError, validate_rows
from tests.console.helpers import Sessions, csrf_in
from tests.console.test_api import bearer, token_for
from tests.console.test_imports import CUSTOMERS, follow, ops_web, settings, upload
from tests.console.test_zh_refusals import english_left

__all__ = ["ops_web", "settings"]  # fixtures, used by name

BAD = CUSTOMERS + "C-1,One,c1@x.test,false\nC 2,Two,not-an-email,maybe\n"
# Checked once every row is valid: a repeated id.
DUP = CUSTOMERS + "C-1,One,c1@x.test,false\nC-1,Again,a@x.test,false\n"


async def in_chinese(web: httpx.AsyncClient) -> None:
    form = await web.get("/imports")
    answer = await web.post(
        "/lang", data={"lang": "zh-CN", "next": "/imports", "csrf": csrf_in(form.text)}
    )
    assert answer.status_code == 303


def cells(page: str) -> list[str]:
    table = re.search(r'<table class="tasks all-columns" id="errors">(.*?)</table>', page, re.S)
    assert table is not None, page[-3000:]
    return re.findall(r"<td>([^<]*)</td></tr>", table.group(1))


async def test_row_errors_and_notes_are_chinese_on_the_imports_page(
    ops_web: httpx.AsyncClient,
) -> None:
    await in_chinese(ops_web)
    page = await follow(ops_web, await upload(ops_web, "customers", "c.csv", BAD.encode()))
    reasons = cells(page.text)
    assert len(reasons) == 3, reasons
    for reason in reasons:
        assert re.search(r"[\u4e00-\u9fff]", reason), reasons
        assert not english_left(reason, "true", "false", "name@example.com"), reasons
    joined = " ".join(reasons)
    for chinese in (
        "ID 由 1 至 64 个字母",
        "不是有效的电子邮件地址",
        "请填写 true 或 false",
    ):
        assert chinese in joined, reasons
    page = await follow(ops_web, await upload(ops_web, "customers", "d.csv", DUP.encode()))
    assert cells(page.text) == ["与第 1 行重复"], cells(page.text)

    rates = "partner_type,site,rate\nsolution_provider,china,0.05\n"
    preview = await follow(
        ops_web, await upload(ops_web, "incentive-rates", "r.csv", rates.encode())
    )
    assert "新费率适用于从现在起计算的激励对账单" in preview.text, preview.text[-3000:]
    assert "new rates apply" not in preview.text


async def test_the_api_gives_row_errors_in_the_token_users_language(
    web: httpx.AsyncClient, sessions: Sessions
) -> None:
    from domain.parties import Role
    from tests.factories import add_user

    await add_user(sessions, "ops-1", Role.OPS)
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == "ops-1").values(locale="zh-CN"))
    ops = bearer(await token_for(sessions, "ops-1"))
    answer = await web.post(
        "/api/imports/customers",
        headers={**ops, "content-type": "text/csv"},
        content=DUP.encode(),
        params={"filename": "c.csv"},
    )
    assert answer.status_code == 422, answer.text
    details = [e["detail"] for e in answer.json()["errors"]]
    assert any("与第 1 行重复" in d for d in details), details
    assert not any(english_left(d, "true", "false", "name@example.com") for d in details), details


def test_the_cli_keeps_its_english(tmp_path: Path) -> None:
    rows = [
        {"id": "C-1", "name": "One", "email": "c1@x.test"},
        {"id": "C-2", "name": "Two", "email": "not-an-email"},
    ]
    with pytest.raises(ImportRefusedError) as refused:
        validate_rows(tmp_path / "c.csv", CustomerRow, rows)
    assert str(refused.value.errors[0]) == (
        "row 2, field 'email': Value error, not an email address (name@example.com)"
    )
    assert refused.value.details == [
        {
            "row": 2,
            "field": "email",
            "reason": "Value error, not an email address (name@example.com)",
        }
    ]
