"""The partner page's "still missing" lines and the partner API in Chinese (issue 11): the
threshold checks' messages translated at display; the CLI's English unchanged."""

from __future__ import annotations

import re
from datetime import date

import httpx
from sqlalchemy import update

from domain.certification import (
    CertLevel,
    DevelopmentPath,
    PathFacts,
    PathThresholds,
    shortfalls,
)
from domain.parties import Actor
from infra import i18n
from infra.config import Settings
from infra.tables import User
from tests.console.helpers import Sessions, session_for
from tests.console.test_api import bearer, token_for
from tests.console.test_partner_pages import ops
from tests.console.test_zh_refusals import english_left

__all__ = ["ops"]  # the fixture, used by name

# Certificate names and ids are data, the same in every language.
DATA = ("HCSA", "HCSP", "HCIA", "HCIP", "P-1", "P-2")


def missing_items(html: str) -> list[str]:
    """The missing items of the page's readiness card (plain ``<li>`` inside each level's)."""
    card = re.search(r'<div class="card" id="readiness">(.*?)</div>', html, re.S)
    assert card is not None, html[-3000:]
    return re.findall(r"<li>([^<]*)</li>", card.group(1))


async def zh_cn(sessions: Sessions, user_id: str) -> None:
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == user_id).values(locale="zh-CN"))


async def test_the_missing_lines_are_chinese_on_the_partner_page_and_in_the_api(
    web: httpx.AsyncClient, sessions: Sessions, settings: Settings, ops: Actor
) -> None:
    await zh_cn(sessions, "ops-1")
    await session_for(web, settings, "ops-1")
    seen: list[str] = []
    for pid in ("P-1", "P-2"):
        page = await web.get(f"/partners/{pid}")
        assert page.status_code == 200
        items = missing_items(page.text)
        assert items, page.text[-4000:]
        seen += items
    for item in seen:
        assert re.search(r"[\u4e00-\u9fff]", item) and not english_left(item, *DATA), seen
    joined = "\n".join(seen)
    # P-2 has no solutions (software role) and no role certification (differentiation after it);
    # P-1's one HCIP does not make two persons, four certificates or four HCIPs.
    for chinese in (
        "角色认证需要至少 1 个云软件认证方案；伙伴 P-2 现有 0 个：还需认证 1 个",
        "在软件合作伙伴发展路径上，须先获得角色认证，才能获得差异化认证",
        "证书须由至少 2 人持有于其个人账号",
        "未持有 HCIA 时需要 4 张 HCIP",
    ):
        assert chinese in joined, seen

    api = bearer(await token_for(sessions, "ops-1"))
    shown = await web.get("/api/partners/P-2", headers=api)
    assert shown.status_code == 200, shown.text
    needs = shown.json()["missing_for_certification"]
    items = [i for levels in needs.values() for lines in levels.values() for i in lines]
    assert "角色认证需要至少 1 个云软件认证方案；伙伴 P-2 现有 0 个：还需认证 1 个" in items
    assert not any(english_left(i, *DATA) for i in items), items


def test_the_cli_english_is_unchanged() -> None:
    facts = PathFacts(partner_id="P-2")
    role, diff = (
        shortfalls(DevelopmentPath.SOFTWARE, level, facts, PathThresholds(), date(2026, 11, 1))
        for level in (CertLevel.ROLE, CertLevel.DIFFERENTIATION)
    )
    assert [s.marked() for s in role] == [
        "role certification needs >= 1 certified cloud software solution(s); partner P-2 has 0: "
        "1 more to certify"
    ]
    assert [str(s.marked()) for s in diff] == [
        "differentiation certification comes after role certification on the software path"
    ]
    assert [s.marked().translated(lambda m: i18n.gettext("zh-CN", m)) for s in diff] == [
        "在软件合作伙伴发展路径上，须先获得角色认证，才能获得差异化认证"
    ]
