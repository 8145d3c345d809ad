"""Start forms and case actions over HTTP: a real worker on the dev server (the starts index
workflows by PartnerId/CustomerId, which the time-skipping server does not know) starts what
the form asks; field errors come from the input model and start nothing; business refusals are
shown on the form; a role without the right, or a case outside the scope, is 404.

The dev server is shared by the whole run, so every test uses its own partner, customer and
binding ids, and ends the workflows it started."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.registry import Deps
from domain.parties import Actor, Role
from domain.uscc import check_character
from infra.config import Settings
from infra.smtp_sink import MailSink
from infra.tables import Invitation, OnboardingApplication, Partner
from infra.tables.unbinding import BindingChangeRequest
from starter.services.commands import KINDS, actions_for
from tests.console.helpers import Sessions, console_client, csrf_in, dev_console, session_for
from tests.factories import add_binding, add_customer, add_partner, add_user
from tests.harness import eventually
from tests.workflows import test_incentive as incentive

pytestmark = pytest.mark.devserver


@pytest.fixture
async def web(
    settings: Settings, dev_env: WorkflowEnvironment, deps: Deps
) -> AsyncIterator[httpx.AsyncClient]:
    """The console, starting workflows on this test's worker and task queue."""
    async with dev_console(settings, dev_env.client, deps) as c:
        yield c


@pytest.fixture
async def other_web(
    settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (another person) on a console of the same database."""
    async with console_client(settings, dev_env.client) as c:
        yield c


def uid(prefix: str) -> str:
    """An id no other test on the shared dev server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_uscc() -> str:
    """A valid USCC no other test uses."""
    first17 = "91310000" + "".join(random.choice("0123456789") for _ in range(9))
    return first17 + check_character(first17)


async def submit(web: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    """Opens the form, then posts it with its CSRF token and these fields."""
    page = await web.get(url)
    assert page.status_code == 200, page.text[:800]
    return await web.post(url.split("?")[0], data={"csrf": csrf_in(page.text), **fields})


async def count(sessions: Sessions, table: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def count_reaches(sessions: Sessions, table: type, n: int) -> None:
    """Waits until ``table`` holds ``n`` rows: a start answers once its checks pass, and the
    workflow writes its business row with the next activity (after the answer, under load)."""

    async def check() -> None:
        assert await count(sessions, table) == n

    await eventually(check)


async def flash(web: httpx.AsyncClient) -> str:
    """The page after the redirect, with its flash line (the inbox: the case page is another
    helper's)."""
    return (await web.get("/")).text


async def partner(sessions: Sessions, role: Role = Role.PARTNER_STAFF) -> tuple[str, str]:
    """A new ACTIVE partner and one user of it: (partner id, user id)."""
    pid = uid("P")
    await add_partner(sessions, pid, uscc=new_uscc())
    user = uid("u")
    await add_user(sessions, user, role, partner_id=pid)
    return pid, user


async def binding(sessions: Sessions, pid: str, cid: str, mode: str = "consulting") -> int:
    """An active binding with an id no other test's binding-change workflow uses."""
    return await add_binding(sessions, pid, cid, mode, id=random.randint(10**6, 10**9))


async def test_the_start_page_lists_what_the_role_may_start(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    pid, staff = await partner(sessions)
    await session_for(web, settings, staff)
    page = await web.get("/start")
    assert page.status_code == 200
    assert 'href="/start/invite"' in page.text and 'href="/start"' in page.text
    assert "/start/payout-start" not in page.text and "/start/unbind" not in page.text
    form = await web.get("/start/invite")
    assert 'id="f-partner"' in form.text and f'value="{pid}"' in form.text
    assert "readonly" in form.text and '<label for="f-customer">' in form.text
    assert '<select id="f-mode"' in form.text
    # A role without the right: 404, for the form and for its POST.
    assert (await web.get("/start/payout-start")).status_code == 404
    no = await web.post("/start/payout-start", data={"csrf": csrf_in(form.text), "partner": pid})
    assert no.status_code == 404
    await add_user(sessions, "fin-1", Role.FINANCE)
    await session_for(web, settings, "fin-1")
    assert (await web.get("/start")).status_code == 404
    assert 'href="/start"' not in (await web.get("/")).text


async def test_invite_starts_the_invitation_and_redirects_to_the_case(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings, mailbox: MailSink
) -> None:
    pid, staff = await partner(sessions)
    other, _ = await partner(sessions)
    cid = uid("C")
    await add_customer(sessions, cid, email=f"{cid.lower()}@customer.test")
    await session_for(web, settings, staff)
    # The partner field is locked to the staff user's partner, whatever is posted.
    done = await submit(web, "/start/invite", partner=other, customer=cid, mode="consulting")
    assert done.status_code == 303, done.text[:3000]
    assert done.headers["location"] == f"/cases/invitation-{pid}-{cid}"
    assert f"Invitation sent to {cid.lower()}@customer.test." in await flash(web)
    async with sessions() as s:
        row = await s.scalar(select(Invitation))
    assert row is not None and (row.partner_id, row.mode) == (pid, "consulting")
    await eventually(lambda: _mail_to(mailbox, f"{cid.lower()}@customer.test"))


async def _mail_to(mailbox: MailSink, to: str) -> None:
    assert mailbox.to(to)


async def test_field_errors_name_the_fields_and_start_nothing(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    _, staff = await partner(sessions)
    await session_for(web, settings, staff)
    bad = await submit(web, "/start/invite", customer="", validity="forever", mode="resale")
    assert bad.status_code == 422
    assert 'id="e-customer"' in bad.text and 'id="e-validity"' in bad.text
    assert "not a duration like 7d" in bad.text and 'aria-invalid="true"' in bad.text
    gold = await submit(web, "/start/invite", customer="C-1", mode="gold")
    assert gold.status_code == 422 and "Choose one of the options." in gold.text
    missing = await submit(web, "/start/invite", customer="C-404")
    assert missing.status_code == 422 and 'id="e-customer"' in missing.text
    assert "no customer with id" in missing.text
    assert await count(sessions, Invitation) == 0


async def test_a_business_refusal_is_shown_on_the_form(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    _, staff = await partner(sessions)
    cid = uid("C")
    await add_customer(sessions, cid, has_credit_account=True)
    await session_for(web, settings, staff)
    refused = await submit(web, "/start/invite", customer=cid, mode="resale")
    assert refused.status_code == 409
    assert 'id="refusal"' in refused.text and "credit account" in refused.text
    assert "What to do" in refused.text and f'value="{cid}"' in refused.text
    assert await count(sessions, Invitation) == 0


async def test_unbind_and_switch_mode_from_their_forms(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    pid, admin = await partner(sessions, Role.PARTNER_ADMIN)
    other, _ = await partner(sessions)
    cid, cid2 = uid("C"), uid("C")
    await add_customer(sessions, cid)
    await add_customer(sessions, cid2)
    mine, theirs = await binding(sessions, pid, cid), await binding(sessions, other, cid2)
    await session_for(web, settings, admin)
    bad = await submit(web, "/start/unbind", binding="one")
    assert bad.status_code == 422 and 'id="e-binding"' in bad.text
    hidden = await submit(web, "/start/unbind", binding=str(theirs))
    assert hidden.status_code == 422 and f"no binding with id {theirs}" in hidden.text
    done = await submit(web, "/start/unbind", binding=str(mine), reason="moving")
    assert done.status_code == 303, done.text[:3000]
    assert done.headers["location"] == f"/cases/binding-change-{mine}"
    await count_reaches(sessions, BindingChangeRequest, 1)
    # One request per binding at a time: the switch is refused on the form.
    again = await submit(web, "/start/switch-mode", binding=str(mine), to="resale")
    assert again.status_code == 409 and 'id="refusal"' in again.text


async def test_onboard_with_a_bad_uscc_then_a_good_one(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    await add_user(sessions, "ops-1", Role.OPS)
    await session_for(web, settings, "ops-1")
    fields = {"company": "Acme Cloud", "email": "a@acme.test", "partner_type": "cloud_reseller"}
    bad = await submit(web, "/start/onboard", uscc="91350100M000100Y4X", **fields)
    assert bad.status_code == 422 and 'id="e-uscc"' in bad.text
    uscc = new_uscc()
    done = await submit(web, "/start/onboard", uscc=uscc, **fields)
    assert done.status_code == 303, done.text[:3000]
    assert done.headers["location"] == f"/cases/onboarding-{uscc}"
    await count_reaches(sessions, OnboardingApplication, 1)


async def test_ops_start_a_payout_and_record_partner_facts(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = uid("P")
    monkeypatch.setitem(incentive.USCC, pid, new_uscc())
    await incentive.seed(sessions, pid)
    await session_for(web, settings, "ops-1")
    bad = await submit(web, "/start/payout-start", partner=pid, period="2026-13")
    assert bad.status_code == 422 and 'id="e-period"' in bad.text
    done = await submit(web, "/start/payout-start", partner=pid, period=incentive.PERIOD)
    assert done.status_code == 303, done.text[:3000]
    assert done.headers["location"] == f"/cases/incentive-{pid}-{incentive.PERIOD}"
    twice = await submit(web, "/start/payout-start", partner=pid, period=incentive.PERIOD)
    assert twice.status_code == 409 and "one payout per partner and month" in twice.text
    over = await submit(web, "/start/record-solutions", partner=pid, certified="1", advanced="2")
    assert over.status_code == 422 and 'id="e-advanced"' in over.text
    ok = await submit(web, "/start/record-solutions", partner=pid, certified="2", advanced="1")
    assert ok.status_code == 303 and ok.headers["location"] == "/start"
    async with sessions() as s:
        row = await s.get(Partner, pid)
    assert row is not None and (row.certified_solutions, row.advanced_solutions) == (2, 1)


async def test_cancel_then_resend_an_invitation_from_the_case_actions(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
    settings: Settings,
) -> None:
    pid, staff = await partner(sessions)
    cid = uid("C")
    await add_customer(sessions, cid, email=f"{cid.lower()}@customer.test")
    await session_for(web, settings, staff)
    wid = f"invitation-{pid}-{cid}"
    assert (await submit(web, "/start/invite", customer=cid)).status_code == 303
    actor = await session_actor(sessions, staff)
    assert ("invitation-cancel", KINDS["invitation-cancel"].title) in actions_for(wid, actor)
    # Another partner's user: the case is not there for it.
    _, stranger = await partner(sessions)
    await session_for(other_web, settings, stranger)
    assert (await other_web.get(f"/act/invitation-cancel?workflow_id={wid}")).status_code == 404
    page = await other_web.get("/act/invitation-cancel")
    hidden = await other_web.post(
        "/act/invitation-cancel", data={"csrf": csrf_in(page.text), "workflow_id": wid}
    )
    assert hidden.status_code == 404
    early = await submit(web, f"/act/invitation-resend?workflow_id={wid}", workflow_id=wid)
    assert early.status_code == 409 and "still pending" in early.text
    cancelled = await submit(
        web, f"/act/invitation-cancel?workflow_id={wid}", workflow_id=wid, comment="wrong mode"
    )
    assert cancelled.status_code == 303, cancelled.text[:3000]
    assert "is now CANCELLED" in await flash(web)
    await eventually(lambda: _closed(dev_env, wid))  # the run ends just after the update
    resent = await submit(web, f"/act/invitation-resend?workflow_id={wid}", workflow_id=wid)
    assert resent.status_code == 303, resent.text[:3000]
    assert f"Invitation sent again to {cid.lower()}@customer.test." in await flash(web)


async def _closed(dev_env: WorkflowEnvironment, wid: str) -> None:
    desc = await dev_env.client.get_workflow_handle(wid).describe()
    assert desc.status != WorkflowExecutionStatus.RUNNING


async def session_actor(sessions: Sessions, user_id: str) -> Actor:
    from starter.services.actors import find_actor

    async with sessions() as s:
        return await find_actor(s, user_id)


async def test_a_form_without_its_csrf_token_does_nothing(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    _, staff = await partner(sessions)
    cid = uid("C")
    await add_customer(sessions, cid)
    await session_for(web, settings, staff)
    refused = await web.post("/start/invite", data={"customer": cid})
    assert refused.status_code == 403
    assert await count(sessions, Invitation) == 0
