"""A zh-CN reader sees no English in field errors of the door types and in refused claims,
releases and reassignments (issue 11), on the console and in the API; the CLI's English is
unchanged. Task rows only: no workflow needed."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import update

from domain.onboarding import Uscc
from domain.types import BusinessDuration, Email, Ident, Name
from infra import i18n
from infra.config import Settings
from infra.tables import User
from starter.services.commands import KINDS, cli_input, field_errors
from starter.services.commands_base import CommandInput
from starter.services.errors import BadInputError
from tests.console.helpers import Sessions
from tests.console.test_api import bearer, problem, token_for
from tests.console.test_scope import as_, tasks

__all__ = ["tasks"]  # the fixture, used by name

# An English word of four letters or more: what a Chinese sentence must not contain once the
# data put into it (ids, the typed value) is taken out.
ENGLISH = re.compile(r"[A-Za-z]{4,}")


def english_left(text: str, *data: str) -> list[str]:
    """The English words in ``text`` besides the ``data`` it quotes."""
    for value in data:
        text = text.replace(value, "")
    return ENGLISH.findall(text)


class Door(CommandInput):
    """Every door type, as a start form's model uses them."""

    partner: Ident = "P-1"
    name: Name = "Acme"
    email: Email = "a@example.com"
    validity: BusinessDuration | None = None
    uscc: Uscc | None = None


def zh(message: str) -> str:
    return i18n.gettext("zh-CN", message)


@pytest.mark.parametrize(
    ("field", "value", "english", "chinese"),
    [
        ("validity", "99999d", "99999d is longer than 366 days", "99999d 超过了 366 天"),
        ("validity", "7", "Enter a duration like", "请填写时长"),
        ("validity", "forever", "Enter a duration like", "请填写时长"),
        ("partner", "P 1", "ids are 1-64 letters", "ID 由 1 至 64 个字母"),
        ("email", "nobody", "not an email address", "不是有效的电子邮件地址"),
        ("name", "  ", "must not be empty", "不能为空"),
        ("name", "A\nB", "contains control characters", "含有控制字符"),
        ("uscc", "91350100M000100Y4X", "wrong check character", "校验码错误"),
    ],
)
def test_door_errors_are_chinese_for_a_zh_reader_and_english_in_the_cli(
    field: str, value: str, english: str, chinese: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Door.model_validate({field: value})
    kind = KINDS["invite"].__class__(**{**KINDS["invite"].__dict__, "model": Door})
    shown = field_errors(kind, caught.value, zh)[field]
    assert chinese in shown and not english_left(shown, value, repr(value), "name@example.com"), (
        shown
    )
    assert english in field_errors(kind, caught.value)[field]
    # The CLI prints the English sentence it always printed.
    with pytest.raises(BadInputError) as cli:
        cli_input(Door, **{field: value})
    assert cli.value.message.startswith(f"--{field}: ")
    if not english.startswith("Enter"):  # pydantic's own words there, as before
        assert english in cli.value.message


async def zh_cn(sessions: Sessions, *user_ids: str) -> None:
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id.in_(user_ids)).values(locale="zh-CN"))


def chinese_problem(answer: httpx.Response, status: int, rule: str, *data: str) -> dict[str, Any]:
    body = problem(answer, status, rule)
    assert re.search(r"[\u4e00-\u9fff]", body["detail"]), body
    assert not english_left(body["detail"], *data), body
    return body


async def test_claim_refusals_in_chinese_on_the_console_and_in_the_api(
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
    tasks: dict[str, int],
) -> None:
    await zh_cn(sessions, "fin-1", "fin-2", "ops-1")
    tid = tasks["finance"]
    token = await as_(web, settings, "fin-1")
    other = await as_(other_web, settings, "fin-2")
    assert (await web.post(f"/tasks/{tid}/claim", data={"csrf": token})).status_code == 303

    late = await other_web.post(f"/tasks/{tid}/claim", data={"csrf": other})
    assert late.status_code == 409 and "fin-1 已先认领此任务" in late.text, late.text
    assert "claimed this task first" not in late.text
    held = await other_web.post(f"/tasks/{tid}/release", data={"csrf": other})
    assert held.status_code == 409 and "此任务由 fin-1 持有" in held.text
    assert "only they can release" not in held.text
    no = await web.post(f"/tasks/{tid}/reassign", data={"csrf": token, "to": "fin-2"})
    assert no.status_code == 409 and "只有运营人员、生态经理和伙伴管理员" in no.text
    nobody = await web.post(f"/tasks/{tid}/reassign", data={"csrf": token, "to": "ghost"})
    assert nobody.status_code == 409 and "不存在用户 &#39;ghost&#39;" in nobody.text

    # The API: the refusal's own rule id, its sentence in the token user's language.
    fin2 = bearer(await token_for(sessions, "fin-2"))
    ops = bearer(await token_for(sessions, "ops-1"))
    taken = await web.post(f"/api/tasks/{tid}/claim", headers=fin2)
    chinese_problem(taken, 409, "task_held", "fin-1")
    release = await web.post(f"/api/tasks/{tid}/release", headers=fin2)
    chinese_problem(release, 409, "task_held", "fin-1")
    wrong = await web.post(f"/api/tasks/{tid}/reassign", headers=ops, json={"to": "pa-1"})
    chinese_problem(wrong, 409, "reassignee_out_of_scope", "pa-1", "partner_admin", "finance")
    # Every rule these refusals name is in the registry and both catalogs (tests/i18n).


async def test_an_api_field_error_is_chinese_for_a_zh_cn_token(
    web: httpx.AsyncClient, sessions: Sessions, tasks: dict[str, int]
) -> None:
    await zh_cn(sessions, "ops-1")
    ops = bearer(await token_for(sessions, "ops-1"))
    # pydantic's RequestValidationError keeps the door type's MarkedError: translated.
    answer = await web.post(
        "/api/start/invite",
        headers=ops,
        json={"partner": "P-1", "customer": "C 1", "validity": "99999d"},
    )
    body = problem(answer, 422, "invalid_input")
    details = {e["field"]: e["detail"] for e in body["errors"]}
    assert details.get("validity") == "99999d 超过了 366 天", body
    assert details.get("customer", "").startswith("ID 由 1 至 64 个字母"), body


async def test_a_start_form_shows_its_field_errors_in_chinese(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions, tasks: dict[str, int]
) -> None:
    await zh_cn(sessions, "ps-1")
    token = await as_(web, settings, "ps-1")
    bad = await web.post(
        "/start/invite",
        data={"csrf": token, "customer": "C 1", "validity": "99999d", "mode": "resale"},
    )
    assert bad.status_code == 422, bad.text[-2000:]
    assert "99999d 超过了 366 天" in bad.text and "ID 由 1 至 64 个字母" in bad.text
    assert "longer than" not in bad.text and "ids are 1-64" not in bad.text
    # A service's refusal of a field (no such customer): the rule's message in Chinese.
    missing = await web.post("/start/invite", data={"csrf": token, "customer": "C-404"})
    assert missing.status_code == 422 and 'id="e-customer"' in missing.text, missing.text[-2000:]
    assert "no customer with id" not in missing.text
    assert i18n.gettext("zh-CN", "The customer does not exist.") in missing.text
