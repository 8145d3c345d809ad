"""The other start forms over HTTP on the dev server: a development path from invitation to
certification, an authorization request, the renewal scan and the partner facts ops record;
and every registered form renders with a label on every field."""

from __future__ import annotations

import random

import httpx
import pytest
from sqlalchemy import select, update

from domain.parties import Role
from infra.config import Settings
from infra.tables import Partner, User
from infra.tables.onboarding import PathMembership
from starter.services.commands import KINDS
from tests.console.helpers import Sessions, csrf_in, session_for
from tests.console.test_start_forms import (
    binding,
    flash,
    new_uscc,
    other_web,
    partner,
    submit,
    uid,
    web,
)
from tests.factories import add_customer, add_user
from tests.harness import eventually
from tests.workflows import test_incentive as incentive

pytestmark = pytest.mark.devserver
__all__ = ["other_web", "web"]  # the fixtures, shared with test_start_forms


async def test_a_development_path_from_the_invitation_to_certification(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    pid, admin = await partner(sessions, Role.PARTNER_ADMIN)
    idle, _ = await partner(sessions, Role.PARTNER_ADMIN)
    async with sessions.begin() as s:
        await s.execute(update(Partner).where(Partner.id == idle).values(status="SUSPENDED"))
    await add_user(sessions, "em-1", Role.ECOSYSTEM_MANAGER)
    await add_user(sessions, "ops-1", Role.OPS)
    await session_for(web, settings, "em-1")
    bad = await submit(web, "/start/path-invite", partner=pid, path="gold")
    assert bad.status_code == 422 and 'id="e-path"' in bad.text
    refused = await submit(web, "/start/path-invite", partner=idle, path="software")
    assert refused.status_code == 409 and "only ACTIVE partners are invited" in refused.text
    done = await submit(web, "/start/path-invite", partner=pid, path="software")
    wid = f"path-{pid}-software"
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{wid}", done.text
    assert f"Partner {pid} invited to the software path." in await flash(web)

    # The partner's admin opens "join" from the case: partner and path are filled in.
    await session_for(web, settings, admin)
    form = await web.get(f"/act/path-join?workflow_id={wid}")
    assert form.status_code == 200 and f'value="{pid}"' in form.text
    assert '<option value="software" selected>' in form.text
    joined = await web.post("/act/path-join", data={"csrf": csrf_in(form.text), "path": "software"})
    assert joined.status_code == 303, joined.text[:3000]

    async def membership() -> None:
        async with sessions() as s:
            assert await s.scalar(select(PathMembership.status)) == "joined"

    await eventually(membership)
    missing = await submit(web, "/start/path-certify", path="software", level="role")
    assert missing.status_code == 409 and 'id="refusal"' in missing.text
    assert "certified" in missing.text
    # Ops record the solution the threshold asks for; the request then goes to the manager.
    await session_for(web, settings, "ops-1")
    facts = await submit(web, "/start/record-solutions", partner=pid, certified="1", advanced="0")
    assert facts.status_code == 303
    await session_for(web, settings, admin)
    asked = await submit(web, "/start/path-certify", path="software", level="role")
    assert asked.status_code == 303 and asked.headers["location"] == f"/cases/{wid}", asked.text


async def test_an_authorization_request_from_its_form(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    pid, staff = await partner(sessions)
    resale, consulting = uid("C"), uid("C")
    await add_customer(sessions, resale)
    await add_customer(sessions, consulting)
    await binding(sessions, pid, resale, "resale")
    await binding(sessions, pid, consulting, "consulting")
    await session_for(web, settings, staff)
    empty = await submit(web, "/start/authorization-request", customer="")
    assert empty.status_code == 422 and 'id="e-customer"' in empty.text
    refused = await submit(
        web, "/start/authorization-request", customer=consulting, accept_letter="yes"
    )
    assert refused.status_code == 409 and "consulting mode" in refused.text
    done = await submit(
        web, "/start/authorization-request", customer=resale, accept_letter="yes", purpose="ECS"
    )
    assert done.status_code == 303, done.text[:3000]
    assert done.headers["location"] == f"/cases/authorization-{pid}-{resale}"


async def test_ops_run_the_renewal_scan_and_record_facts(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    await add_user(sessions, "ops-1", Role.OPS)
    pid, _ = await partner(sessions)
    unknown = uid("P")
    await session_for(web, settings, "ops-1")
    bad = await submit(web, "/start/renewals-scan", as_of="2040-13-01")
    assert bad.status_code == 422 and 'id="e-as_of"' in bad.text
    # A day no other test scans: the scan of a day is joined, not repeated.
    day = f"20{random.randint(41, 99)}-0{random.randint(1, 9)}-1{random.randint(0, 9)}"
    done = await submit(web, "/start/renewals-scan", as_of=day)
    assert done.status_code == 303, done.text[:3000]
    assert done.headers["location"] == f"/cases/renewal-scan-{day.replace('-', '')}"
    assert f"Scan as of {day}: 0 order(s) need a task, 0 started." in await flash(web)

    cert = {"partner": pid, "holder": "li.lei", "kind": "HCIP", "number": "N-1"}
    assert (await submit(web, "/start/record-certificate", **cert)).status_code == 303
    twice = await submit(web, "/start/record-certificate", **cert)
    assert twice.status_code == 409 and "already recorded" in twice.text
    future = await submit(
        web, "/start/record-case", partner=pid, case_id="K-1", title="ERP", completed="2999-01-01"
    )
    assert future.status_code == 422 and 'id="e-completed"' in future.text
    nobody = await submit(web, "/start/record-case", partner=unknown, case_id="K-1", title="ERP",
                          completed="2026-01-01")  # fmt: skip
    assert nobody.status_code == 422 and 'id="e-partner"' in nobody.text
    async with sessions.begin() as s:
        await s.execute(update(Partner).where(Partner.id == pid).values(business_certified=False))
    held = await submit(web, "/start/certification-recorded", partner=pid)
    assert held.status_code == 409 and "not business-certified" in held.text


async def test_every_form_renders_with_a_label_on_every_field(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    pid, _ = await partner(sessions)
    cid = uid("C")
    await add_customer(sessions, cid)
    for role in Role:
        user = cid if role == Role.CUSTOMER else uid("u")
        if role != Role.CUSTOMER:
            party = pid if role in (Role.PARTNER_ADMIN, Role.PARTNER_STAFF) else None
            await add_user(sessions, user, role, partner_id=party)
        await session_for(web, settings, user)
        for kind in KINDS.values():
            page = await web.get(f"/{'act' if kind.case else 'start'}/{kind.name}")
            if role not in kind.roles:
                assert page.status_code == 404, (role, kind.name)
                continue
            assert page.status_code == 200, (role, kind.name)
            for name in kind.model.model_fields:
                assert f'for="f-{name}"' in page.text, (kind.name, name)


async def test_the_start_page_in_chinese(
    sessions: Sessions, web: httpx.AsyncClient, settings: Settings
) -> None:
    _, staff = await partner(sessions)
    async with sessions.begin() as s:
        await s.execute(update(User).where(User.id == staff).values(locale="zh-CN"))
    await session_for(web, settings, staff)
    page = await web.get("/start")
    assert page.status_code == 200 and "邀请客户" in page.text and ">发起<" in page.text
    form = await web.get("/start/invite")
    assert "关联类型" in form.text and "发送关联邀请" in form.text
    empty = await submit(web, "/start/invite", customer="", reminder_before="2 days")
    assert empty.status_code == 422 and "必填。" in empty.text
    assert "部分字段需要修改；未启动任何流程。" in empty.text


async def test_more_case_actions_from_their_forms(
    sessions: Sessions,
    web: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A customer asks to end its own binding; another customer's binding is not there for it.
    pid, staff = await partner(sessions)
    cid, other = uid("C"), uid("C")
    await add_customer(sessions, cid)
    await add_customer(sessions, other)
    mine, theirs = await binding(sessions, pid, cid, "resale"), await binding(sessions, pid, other)
    await session_for(web, settings, cid)
    hidden = await submit(web, "/start/unbind", binding=str(theirs))
    assert hidden.status_code == 422 and f"no binding with id {theirs}" in hidden.text
    asked = await submit(web, "/start/unbind", binding=str(mine), reason="moving on")
    assert asked.status_code == 303, asked.text[:3000]
    withdrawn = await submit(
        web,
        f"/act/request-cancel?workflow_id=binding-change-{mine}",
        workflow_id=f"binding-change-{mine}",
    )
    assert withdrawn.status_code == 303, withdrawn.text[:3000]
    assert "is now CANCELLED" in await flash(web)

    # The applicant withdraws its application; ops cannot unlock what is not locked.
    onboarded = await submit(web, "/start/onboard", company="Acme", uscc=new_uscc(),
                             email="a@acme.test", partner_type="cloud_reseller")  # fmt: skip
    assert onboarded.status_code == 303, onboarded.text[:3000]
    app_id = onboarded.headers["location"].removeprefix("/cases/")
    await add_user(sessions, "ops-1", Role.OPS)
    await session_for(web, settings, "ops-1")
    locked = await submit(web, f"/act/onboarding-unlock?workflow_id={app_id}", workflow_id=app_id)
    assert locked.status_code == 409 and 'id="refusal"' in locked.text
    await session_for(web, settings, cid)
    gone = await submit(web, f"/act/onboarding-withdraw?workflow_id={app_id}", workflow_id=app_id)
    assert gone.status_code == 303, gone.text[:3000]
    assert "is now WITHDRAWN" in await flash(web)

    # The partner withdraws its authorization request.
    await session_for(web, settings, staff)
    requested = await submit(web, "/start/authorization-request", customer=cid, accept_letter="yes")
    assert requested.status_code == 303, requested.text[:3000]
    auth = f"authorization-{pid}-{cid}"
    dropped = await submit(web, f"/act/authorization-cancel?workflow_id={auth}", workflow_id=auth)
    assert dropped.status_code == 303, dropped.text[:3000]

    # The partner's admin applies for a payout ops started, by voucher.
    payee = uid("P")
    monkeypatch.setitem(incentive.USCC, payee, new_uscc())
    await incentive.seed(sessions, payee, vendor_staff=False)
    await session_for(web, settings, "ops-1")
    assert (await submit(web, "/start/payout-start", partner=payee,
                         period=incentive.PERIOD)).status_code == 303  # fmt: skip
    payout = f"incentive-{payee}-{incentive.PERIOD}"
    await session_for(web, settings, f"{payee}-admin")
    applied = await submit(
        web, f"/act/payout-apply?workflow_id={payout}", workflow_id=payout, method="voucher"
    )
    assert applied.status_code == 303 and applied.headers["location"] == f"/cases/{payout}"
