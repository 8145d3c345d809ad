"""Sign-in by password and by emailed link, wrong passwords, the rate limit, session expiry
and CSRF refusals; the real database and the real SMTP sink."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from domain.parties import Role
from infra.db import utcnow
from infra.smtp_sink import MailSink
from infra.tables import ConsoleCredential, ConsoleSession, SigninToken
from starter.console.auth import MAX_FAILURES_PER_ACCOUNT, WeakPasswordError, set_password
from tests.console.helpers import (
    PASSWORD,
    Sessions,
    csrf_in,
    sign_in,
    sign_in_by_link,
    signin_link,
    token_of,
    with_password,
)
from tests.factories import add_customer, add_partner, add_user


@pytest.fixture
async def people(sessions: Sessions) -> None:
    await add_partner(sessions, "P-1")
    await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    await add_user(sessions, "fin-1", Role.FINANCE)
    await add_customer(sessions, "C-1")
    await with_password(sessions, "pa-1", "fin-1")


async def test_password_sign_in_sets_a_safe_cookie_and_shows_the_inbox(
    web: httpx.AsyncClient, other_web: httpx.AsyncClient, sessions: Sessions, people: None
) -> None:
    assert (await web.get("/")).headers["location"] == "/signin?next=/"
    answer = await sign_in(web, "pa-1")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if "pf_session=" in h)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    inbox = await web.get("/")
    assert inbox.status_code == 200 and "Signed in as <strong>pa-1</strong>" in inbox.text
    async with sessions() as s:
        (row,) = (await s.scalars(select(ConsoleSession))).all()
        cred = await s.get(ConsoleCredential, "pa-1")
    assert row.principal_id == "pa-1"
    assert cred is not None and cred.password_hash.startswith("$argon2id$")
    # The session id is in the cookie, only its digest in the database.
    assert row.id_hash not in cookie
    # Sign-in by email address works as well as by user id.
    assert (await sign_in(other_web, "fin-1@users.test")).status_code == 303


async def test_wrong_password_and_unknown_account_get_the_same_answer(
    web: httpx.AsyncClient, people: None
) -> None:
    wrong = await sign_in(web, "pa-1", "not the password")
    unknown = await sign_in(web, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The account or the password is wrong." in wrong.text
    assert "The account or the password is wrong." in unknown.text
    assert "pf_session" not in wrong.headers.get("set-cookie", "")
    assert (await web.get("/")).status_code == 303  # still signed out


async def test_sign_in_attempts_are_rate_limited_per_account_and_address(
    web: httpx.AsyncClient, people: None
) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert (await sign_in(web, "pa-1", "guess")).status_code == 401
    # Even the right password is refused now, and the page says until when.
    limited = await sign_in(web, "pa-1")
    assert limited.status_code == 429 and "Too many failed attempts" in limited.text
    # Another account from the same address is not locked by pa-1's failures.
    assert (await sign_in(web, "fin-1")).status_code == 303
    assert "fin-1" in (await web.get("/")).text


async def test_emailed_link_signs_a_customer_in_once(
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
    sessions: Sessions,
    mailbox: MailSink,
    people: None,
) -> None:
    await sign_in_by_link(web, mailbox, "c-1@customer.test")
    inbox = await web.get("/")
    assert inbox.status_code == 200 and "C-1 Ltd" in inbox.text and "Customer" in inbox.text
    # The link worked once: a second use (another browser) is refused.
    path = await signin_link(mailbox, "c-1@customer.test")
    again = await other_web.get(path)
    assert again.status_code == 400 and "does not work" in again.text
    # Customers have no password: the password form cannot sign them in.
    assert (await sign_in(other_web, "C-1", PASSWORD)).status_code == 401


async def test_link_request_for_an_unknown_address_sends_nothing_and_says_the_same(
    web: httpx.AsyncClient, mailbox: MailSink, people: None
) -> None:
    token = await token_of(web)
    answer = await web.post("/signin/email", data={"email": "who@nowhere.test", "csrf": token})
    assert answer.status_code == 200 and "If that address is on file" in answer.text
    assert mailbox.to("who@nowhere.test") == []


async def test_tampered_or_expired_sign_in_links_are_refused(
    web: httpx.AsyncClient, sessions: Sessions, mailbox: MailSink, people: None
) -> None:
    token = await token_of(web)
    await web.post("/signin/email", data={"email": "pa-1@users.test", "csrf": token})
    path = await signin_link(mailbox, "pa-1@users.test")
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert (await web.get(tampered)).status_code == 400
    assert (await web.post(tampered, data={"csrf": token})).status_code == 400
    async with sessions.begin() as s:
        await s.execute(update(SigninToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await web.get(path)).status_code == 400
    assert (await web.get("/")).status_code == 303


async def test_sessions_expire_when_idle_and_at_their_absolute_limit(
    web: httpx.AsyncClient, sessions: Sessions, people: None
) -> None:
    await sign_in(web, "pa-1")
    assert (await web.get("/")).status_code == 200
    async with sessions.begin() as s:  # 31 minutes without a request (idle limit: 30)
        await s.execute(
            update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    assert (await web.get("/")).status_code == 303
    async with sessions() as s:
        assert (await s.scalars(select(ConsoleSession))).all() == []

    assert (await sign_in(web, "pa-1")).status_code == 303
    async with sessions.begin() as s:  # active all along, but past the 12 h lifetime
        await s.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await web.get("/")).status_code == 303


async def test_a_forged_cookie_is_not_a_session(web: httpx.AsyncClient, people: None) -> None:
    await sign_in(web, "pa-1")
    good = web.cookies.get("pf_session")
    assert good
    web.cookies.set("pf_session", good[:-2] + ("xx" if not good.endswith("xx") else "yy"))
    assert (await web.get("/")).status_code == 303


async def test_forms_without_the_csrf_token_are_refused(
    web: httpx.AsyncClient, other_web: httpx.AsyncClient, people: None
) -> None:
    await token_of(web)
    no_token = await web.post("/signin", data={"account": "pa-1", "password": PASSWORD})
    assert no_token.status_code == 403 and "Nothing was done" in no_token.text
    # A token from another browser's page does not fit this browser's pre-session.
    foreign = await token_of(other_web)
    refused = await web.post(
        "/signin", data={"account": "pa-1", "password": PASSWORD, "csrf": foreign}
    )
    assert refused.status_code == 403
    # Signed in, sign-out needs the session's token too.
    await sign_in(web, "pa-1")
    assert (await web.post("/signout", data={"csrf": foreign})).status_code == 403
    assert (await web.get("/")).status_code == 200
    inbox = await web.get("/")
    out = await web.post("/signout", data={"csrf": csrf_in(inbox.text)})
    assert out.status_code == 303 and (await web.get("/")).status_code == 303


async def test_set_password_refuses_weak_passwords_and_customers(
    sessions: Sessions, people: None
) -> None:
    with pytest.raises(WeakPasswordError):
        await set_password(sessions, "pa-1", "short")
    with pytest.raises(LookupError):
        await set_password(sessions, "C-1", PASSWORD)


async def test_the_dev_mailbox_exists_only_in_the_dev_stack(
    web: httpx.AsyncClient, people: None
) -> None:
    # This console was not given the sink's directory (not `partnerflow dev`): no mailbox.
    assert (await web.get("/dev/mailbox")).status_code == 404
    assert (await web.get("/dev/mailbox/anything")).status_code == 404
    assert "Dev mailbox" not in (await web.get("/signin")).text
