"""The console in its reader's language (docs/i18n.md): a zh-CN user's inbox in Chinese, the
header's switch (CSRF-checked, stored on the user), anonymous pages by cookie or
Accept-Language, and the emailed sign-in link and its page in the recipient's language."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from domain.parties import Role
from infra.db import utcnow
from infra.smtp_sink import MailSink
from infra.tables import Customer, HumanTask, User
from starter.console.lang import LANG_COOKIE, accept_language
from tests.console.helpers import Sessions, csrf_in, sign_in, token_of, with_password
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually


@pytest.fixture
async def chinese_admin(sessions: Sessions) -> None:
    """pa-1 reads zh-CN and has one task waiting in the partner's queue, due in three days."""
    await add_partner(sessions, "P-1")
    await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    await with_password(sessions, "pa-1")
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == "pa-1").values(locale="zh-CN"))
        s.add(
            HumanTask(
                idempotency_key="test:lang",
                kind="binding_change_approval",
                title="Approve the unbinding of C-1",
                workflow_id="binding-change-P-1-C-1",
                assignee_role=Role.PARTNER_ADMIN.value,
                assignee_party="P-1",
                created_at=utcnow(),
                due_at=utcnow() + timedelta(days=3),
                status="open",
            )
        )


async def locale_of(sessions: Sessions, user_id: str) -> str | None:
    async with sessions() as s:
        return await s.scalar(select(User.locale).where(User.id == user_id))


async def test_a_zh_cn_users_inbox_is_chinese_and_the_switch_turns_it_english(
    web: httpx.AsyncClient, sessions: Sessions, chinese_admin: None
) -> None:
    assert (await sign_in(web, "pa-1")).status_code == 303
    inbox = await web.get("/")
    assert inbox.status_code == 200
    assert '<html lang="zh-CN">' in inbox.text
    for chinese in ("<title>待办 · PartnerFlow</title>", "我的队列中待处理", "伙伴管理员"):
        assert chinese in inbox.text
    # The due date: a relative hint and Beijing time (the site default zone for zh-CN).
    assert re.search(r"2 天后截止（\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2} 北京时间）", inbox.text)
    assert "关联变更 binding-change-P-1-C-1" in inbox.text
    assert "Waiting in my queue" not in inbox.text and "Sign out" not in inbox.text
    task_id = re.search(r'data-task="(\d+)"', inbox.text)
    assert task_id
    task = await web.get(f"/tasks/{task_id.group(1)}")
    assert "同意或驳回所申请的伙伴与客户关联变更。" in task.text and ">认领</button>" in task.text

    # A switch without this session's CSRF token changes nothing.
    forged = await web.post("/lang", data={"lang": "en", "next": "/", "csrf": "0" * 64})
    assert forged.status_code == 403 and await locale_of(sessions, "pa-1") == "zh-CN"

    switched = await web.post(
        "/lang", data={"lang": "en", "next": "/", "csrf": csrf_in(inbox.text)}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/"
    assert await locale_of(sessions, "pa-1") == "en"
    english = await web.get("/")
    assert '<html lang="en">' in english.text
    for words in ("<title>Inbox · PartnerFlow</title>", "Waiting in my queue", "Partner admin"):
        assert words in english.text
    assert re.search(r"due in 2 days \(\w+ \d{1,2}, \d{4} \d{1,2}:\d{2} [AP]M UTC\)", english.text)
    assert "待办" not in english.text
    # The switch offers the other language in its own words, back to where it was.
    assert 'value="zh-CN" lang="zh-CN">中文</button>' in english.text
    back = await web.post(
        "/lang",
        data={"lang": "zh-CN", "next": "//elsewhere.test/", "csrf": csrf_in(english.text)},
    )
    assert back.headers["location"] == "/" and await locale_of(sessions, "pa-1") == "zh-CN"


async def test_anonymous_pages_follow_the_cookie_then_accept_language_then_the_default(
    web: httpx.AsyncClient,
) -> None:
    # The test settings' site default is en.
    assert "With your password" in (await web.get("/signin")).text
    chinese = await web.get("/signin", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-CN">' in chinese.text and "使用密码" in chinese.text
    french = await web.get("/signin", headers={"Accept-Language": "fr-FR, en;q=0.5"})
    assert "With your password" in french.text
    chosen = await web.post(
        "/lang", data={"lang": "zh-CN", "next": "/signin", "csrf": await token_of(web)}
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/signin"
    cookie = next(h for h in chosen.headers.get_list("set-cookie") if LANG_COOKIE in h)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # The choice made here wins over the browser's header.
    page = await web.get("/signin", headers={"Accept-Language": "en"})
    assert "使用密码" in page.text and "With your password" not in page.text


async def test_the_sign_in_email_and_its_page_are_in_the_recipients_language(
    web: httpx.AsyncClient, other_web: httpx.AsyncClient, sessions: Sessions, mailbox: MailSink
) -> None:
    await add_customer(sessions, "C-1")
    async with sessions.begin() as s:
        await s.execute(update(Customer).where(Customer.id == "C-1").values(locale="zh-CN"))
    asked = await web.post(
        "/signin/email", data={"email": "c-1@customer.test", "csrf": await token_of(web)}
    )
    assert asked.status_code == 200 and "a sign-in link is on its way" in asked.text

    async def mail() -> str:
        mails = mailbox.to("c-1@customer.test")
        assert len(mails) == 1
        got = mails[0]
        assert got.subject == "您的 PartnerFlow 登录链接"
        return got.text()

    text = await eventually(mail)
    assert "北京时间" in text and "每个链接仅可使用一次" in text
    path = re.findall(r"http://links\.test(/signin/link/\S+)", text)[-1]
    # Another browser, no language chosen, an English header: the recipient's language wins.
    page = await other_web.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert "此链接将以 <strong>C-1</strong> 的身份登录" in page.text and "北京时间" in page.text


def test_accept_language_picks_the_best_supported_language() -> None:
    assert accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert accept_language("en-GB;q=0.4, zh-TW;q=0.7") == "zh-CN"
    assert accept_language("fr, de;q=0.5, en-US;q=0.1") == "en"
    assert accept_language("fr, de") is None
    assert accept_language("zh;q=0, en") == "en"
    assert accept_language("") is None and accept_language(None) is None
