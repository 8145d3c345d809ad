"""The partner pages (``partnerflow partner show`` in the console) and the payout section of
a payout's case page (``partnerflow payout show``), over HTTP on the real database.

Facts are recorded through the same services the CLI's ``partner record-*`` commands call;
the page must show them, and what each path level still needs, to those in scope only."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from domain.certification import CertificateKind
from domain.parties import Actor, Role
from infra.config import Settings
from infra.db import utcnow
from infra.tables import IncentiveInvoice, IncentivePayout
from starter.services import commands_partner as facts
from starter.services.context import AppContext
from tests.console.helpers import Sessions, reads_chinese, session_for
from tests.console.test_cases import invitation
from tests.factories import add_customer, add_partner, add_user

PARTNER = re.compile(r'data-partner="([^"]+)"')
PAYOUT = "incentive-P-1-2026-10"
INVITE = "invitation-P-1-C-1"


@pytest.fixture
async def ops(sessions: Sessions, settings: Settings) -> Actor:
    """Two partners, their admins, ops, an ecosystem manager and finance; P-1 has a
    certificate, a cloud service case and solution counts recorded by ops."""
    await add_partner(sessions, "P-1", company_name="Alpha Cloud Co., Ltd.")
    await add_partner(sessions, "P-2", uscc="91510100MA6CGUL45R", company_name="Beta Soft Ltd.")
    await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    await add_user(sessions, "ps-2", Role.PARTNER_STAFF, partner_id="P-2")
    await add_user(sessions, "eco-1", Role.ECOSYSTEM_MANAGER)
    await add_user(sessions, "fin-1", Role.FINANCE)
    actor = await add_user(sessions, "ops-1", Role.OPS)
    ctx = AppContext(settings)
    try:
        await facts.record_solutions(
            ctx, actor, facts.RecordSolutionsInput(partner="P-1", certified=3, advanced=1)
        )
        await facts.record_certificate(
            ctx,
            actor,
            facts.RecordCertificateInput(
                partner="P-1",
                holder="staff-7",
                kind=CertificateKind.HCIP,
                number="HCIP-0042",
                expires=date.today() + timedelta(days=400),
            ),
        )
        await facts.record_case(
            ctx,
            actor,
            facts.RecordCaseInput(
                partner="P-1",
                case_id="CASE-9",
                title="Migration",
                completed=date.today() - timedelta(days=30),
            ),
        )
    finally:
        await ctx.close()
    return actor


async def test_partner_page_shows_account_users_facts_and_what_each_level_needs(
    web: httpx.AsyncClient, settings: Settings, ops: Actor
) -> None:
    await session_for(web, settings, "ops-1")
    page = await web.get("/partners/P-1")
    assert page.status_code == 200, page.text[:1500]
    html = page.text
    assert "Alpha Cloud Co., Ltd." in html and "91350100M000100Y43" in html
    assert "pa-1@users.test" in html  # its users
    assert "HCIP-0042" in html and "CASE-9" in html  # the facts the thresholds read
    assert "Staff certificates</h3>" not in html  # the count follows the heading
    assert "Staff certificates (1)" in html and "Cloud service cases (1)" in html
    # Each level of each path, with what is missing (the same words as the CLI's).
    for key in ('data-level="software-role"', 'data-level="software-differentiation"'):
        assert key in html
    assert 'data-level="service-role"' in html
    assert "missing" in html
    assert 'href="/cases?partner=P-1"' in html
    # The navigation offers the list and the schedules to ops.
    assert 'href="/partners"' in html and 'href="/schedules"' in html


async def test_partner_list_for_vendor_roles_and_own_partner_only_for_partner_users(
    web: httpx.AsyncClient, other_web: httpx.AsyncClient, settings: Settings, ops: Actor
) -> None:
    await session_for(web, settings, "eco-1")
    listed = await web.get("/partners")
    assert listed.status_code == 200 and PARTNER.findall(listed.text) == ["P-1", "P-2"]
    found = await web.get("/partners?q=beta")
    assert PARTNER.findall(found.text) == ["P-2"]
    assert (await web.get("/partners/P-2")).status_code == 200

    await session_for(other_web, settings, "ps-2")
    own = await other_web.get("/partners")
    assert own.status_code == 200 and PARTNER.findall(own.text) == ["P-2"]
    assert 'href="/schedules"' not in own.text  # ops only
    mine = await other_web.get("/partners/P-2")
    assert mine.status_code == 200 and "Beta Soft Ltd." in mine.text
    # Another partner, and one that does not exist: the same 404 (scope first).
    other, missing = await other_web.get("/partners/P-1"), await other_web.get("/partners/P-9")
    assert other.status_code == missing.status_code == 404
    assert "Alpha" not in other.text
    assert other.text.replace("P-1", "P-9") == missing.text  # the language switch's "next"


async def test_customers_have_no_partner_pages_and_anonymous_readers_sign_in(
    web: httpx.AsyncClient, sessions: Sessions, settings: Settings, ops: Actor
) -> None:
    anonymous = await web.get("/partners/P-1")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    await add_customer(sessions, "C-1")
    await session_for(web, settings, "C-1")
    assert (await web.get("/partners")).status_code == 404
    assert (await web.get("/partners/P-1")).status_code == 404
    # Finance is vendor staff: every partner, as the API's rule (commands_base.Parties).
    await session_for(web, settings, "fin-1")
    assert (await web.get("/partners/P-2")).status_code == 200


async def test_case_pages_link_the_partner_for_those_who_may_open_it(
    web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
    sessions: Sessions,
    settings: Settings,
    paid_payout: None,
) -> None:
    await add_customer(sessions, "C-1")
    async with sessions.begin() as s:
        s.add(invitation(INVITE, "P-1", "C-1", "PENDING", utcnow()))
    await session_for(web, settings, "fin-1")
    listed = await web.get("/cases")
    assert 'href="/partners/P-1"' in listed.text
    assert 'href="/partners/P-1"' in (await web.get(f"/cases/{PAYOUT}")).text
    # The customer follows its invitation, but the partner's page is not for it.
    await session_for(other_web, settings, "C-1")
    shown = await other_web.get(f"/cases/{INVITE}")
    assert shown.status_code == 200 and 'href="/partners/P-1"' not in shown.text


@pytest.fixture
async def paid_payout(sessions: Sessions, ops: Actor) -> None:
    """``ops``'s partners and users, and ``_payout``'s paid payout of P-1 (``PAYOUT``)."""
    await _payout(sessions)


async def _payout(sessions: Sessions) -> None:
    """A paid payout as the database records it (its workflow has finished)."""
    now = utcnow()
    statement = {
        "partner_id": "P-1",
        "period": "2026-10",
        "partner_type": "solution_provider",
        "sites": [
            {
                "site": "china",
                "performance": "120000.00",
                "rate": "0.05",
                "incentive": "6000.00",
                "lines": 14,
            },
            {
                "site": "overseas",
                "performance": "-2000.00",
                "rate": "0.05",
                "incentive": "-100.00",
                "lines": 2,
            },
        ],
        "excluded": [
            {
                "rule": "voucher",
                "description": "paid with vouchers issued by the vendor",
                "amount": "300.00",
                "lines": 3,
            }
        ],
        "performance": "118000.00",
        "gross_incentive": "6000.00",
        "negative_incentive": "-100.00",
        "deducted": "100.00",
        "payable": "5900.00",
    }
    async with sessions.begin() as s:
        s.add(
            IncentivePayout(
                payout_id=PAYOUT,
                partner_id="P-1",
                period="2026-10",
                run_id="r1",
                status="PAID",
                amount=Decimal("5900.00"),
                statement_json=json.dumps(statement),
                method="bank_transfer",
                applied_by="pa-1",
                notified_at=now - timedelta(days=9),
                decided_by="fin-1",
                decided_at=now - timedelta(days=2),
                payment_reference="PAY-7781",
                paid_at=now - timedelta(days=1),
                created_at=now - timedelta(days=20),
                updated_at=now - timedelta(days=1),
            )
        )
        await s.flush()
        s.add(
            IncentiveInvoice(
                invoice_number="INV-55012",
                payout_id=PAYOUT,
                invoice_type="vat_special",
                buyer_title="Vendor",
                buyer_tax_id="91110000X",
                seller_name="Alpha Cloud Co., Ltd.",
                seller_tax_id="91350100M000100Y43",
                amount_excl_tax=Decimal("5566.04"),
                tax_amount=Decimal("333.96"),
                total=Decimal("5900.00"),
                issued_on=date(2026, 11, 20),
                submitted_by="pa-1",
                accepted_at=now - timedelta(days=5),
            )
        )


async def test_payout_case_page_shows_statement_lines_invoices_decision_and_payment(
    web: httpx.AsyncClient, other_web: httpx.AsyncClient, settings: Settings, paid_payout: None
) -> None:
    await session_for(web, settings, "pa-1")
    page = await web.get(f"/cases/{PAYOUT}")
    assert page.status_code == 200, page.text[:1500]
    section = page.text[page.text.index('id="payout"') :]
    assert 'data-site="china"' in section and 'data-site="overseas"' in section
    assert "¥120,000.00" in section and "¥6,000.00" in section and "¥5,900.00" in section
    assert "paid with vouchers issued by the vendor" in section  # not counted, and why
    assert "INV-55012" in section and "PAY-7781" in section and "fin-1" in section
    # Another partner's user: the case (and its statement) is not found.
    await session_for(other_web, settings, "ps-2")
    assert (await other_web.get(f"/cases/{PAYOUT}")).status_code == 404


async def test_partner_page_in_chinese(
    web: httpx.AsyncClient, sessions: Sessions, settings: Settings, ops: Actor
) -> None:
    await reads_chinese(sessions, "pa-1")
    await session_for(web, settings, "pa-1")
    page = await web.get("/partners/P-1")
    assert page.status_code == 200
    for words in (
        "统一社会信用代码",
        "商业信息认证",
        "各路径级别尚缺的条件",
        "员工证书",
        "伙伴发展路径",
    ):
        assert words in page.text
    assert "What each path level still needs" not in page.text
