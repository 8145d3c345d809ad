"""The partner page in headless Chromium: ops opens it from the navigation's partner list;
it fits at 1280 px and on a phone (390 px). With ``PARTNERFLOW_SCREENSHOTS=1`` the 1280 px
page becomes docs/console-partner.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client

from domain.parties import Actor
from infra.config import Settings
from infra.db import utcnow
from infra.tables import PathCertification, PathMembership
from tests.console.browser import free_port, keep_screenshot, served, signed_in
from tests.console.helpers import Sessions, with_password
from tests.console.test_partner_pages import ops

pytestmark = pytest.mark.timeout(240)
PORTS = range(21400, 21500)  # this module's share of the machine's ports
__all__ = ["ops"]  # the fixture, used here too


async def test_partner_page_in_chromium(
    browser: Browser,
    client: Client,
    sessions: Sessions,
    settings: Settings,
    ops: Actor,
    tmp_path: Path,
) -> None:
    await with_password(sessions, "ops-1")
    now = utcnow()
    # P-1 is on the software path with its role certification approved.
    async with sessions.begin() as s:
        s.add(
            PathMembership(
                idempotency_key="path-P-1-software:joined",
                workflow_id="path-P-1-software",
                partner_id="P-1",
                uscc="91350100M000100Y43",
                path="software",
                status="JOINED",
                created_at=now - timedelta(days=60),
                joined_at=now - timedelta(days=58),
            )
        )
        s.add(
            PathCertification(
                idempotency_key="path-P-1-software:role",
                workflow_id="path-P-1-software",
                partner_id="P-1",
                path="software",
                level="role",
                status="certified",
                requested_by="pa-1",
                requested_at=now - timedelta(days=20),
                decided_by="eco-1",
                decided_at=now - timedelta(days=18),
            )
        )
    async with served(settings, client, free_port(PORTS), tmp_path / "mail") as site:
        page = await signed_in(browser, site, "ops-1", 1280)
        await page.get_by_role("link", name="Partners", exact=True).click()
        await expect(page.get_by_role("heading", name="Partners")).to_be_visible()
        await page.get_by_role("link", name="Alpha Cloud Co., Ltd.").click()
        await expect(page.locator("#account")).to_contain_text("91350100M000100Y43")
        await expect(page.locator('[data-certification="software-role"]')).to_contain_text(
            "certified"
        )
        await expect(page.locator('[data-level="software-differentiation"]')).to_be_visible()
        await expect(page.locator("#facts")).to_contain_text("HCIP-0042")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
        await page.screenshot(path=str(tmp_path / "partner.png"), full_page=True)
        keep_screenshot(tmp_path / "partner.png", "console-partner.png")

        phone = await signed_in(browser, site, "ops-1", 390)
        await phone.goto(f"{site}/partners/P-1")
        await expect(phone.locator("#readiness")).to_be_visible()
        await phone.screenshot(path=str(tmp_path / "partner-390.png"), full_page=True)
        wide = await phone.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > 390).map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"
        )
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 390, wide
    print("screenshots in", tmp_path)
