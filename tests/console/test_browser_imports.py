"""The imports page in real headless Chromium: an ops user uploads a customers file, sees
the preview (one update, new rows), confirms and sees the summary. Screenshot of the
preview: docs/console-imports.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import func, select
from temporalio.client import Client

from domain.parties import Role
from infra.config import Settings
from infra.tables import Customer
from tests.console.browser import free_port, keep_screenshot, new_page, served, sign_in
from tests.console.helpers import PASSWORD, Sessions, with_password
from tests.factories import add_customer, add_user

pytestmark = pytest.mark.timeout(240)

# This task's port range on the shared machine.
PORTS = range(21200, 21300)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    port = free_port(PORTS)
    return settings.model_copy(
        update={
            "console_import_dir": tmp_path / "imports",
            "public_base_url": f"http://127.0.0.1:{port}",
        }
    )


@pytest.fixture
async def site(settings: Settings, client: Client, tmp_path: Path) -> AsyncIterator[str]:
    port = int(settings.public_base_url.rsplit(":", 1)[1])
    async with served(settings, client, port, tmp_path / "mail") as url:
        yield url


async def test_ops_imports_customers_from_the_page(
    browser: Browser, site: str, sessions: Sessions, tmp_path: Path
) -> None:
    await add_user(sessions, "ops-1", Role.OPS)
    await with_password(sessions, "ops-1")
    await add_customer(
        sessions, "C-100", name="Hangzhou Lakeside Trading", email="it@lakeside.test"
    )
    file = tmp_path / "customers-2026-12.csv"
    file.write_text(
        "id,name,email,has_credit_account,has_special_contract\n"
        "C-100,Hangzhou Lakeside Trading,finance@lakeside.test,true,false\n"
        "C-101,Suzhou Garden Robotics,ops@garden-robotics.test,false,false\n"
        "C-102,Ningbo Harbour Logistics,cloud@harbour.test,false,true\n"
        "C-103,Xiamen Tea Exports,admin@tea-exports.test,false,false\n"
    )
    page = await new_page(browser, height=860)
    await sign_in(page, site, "ops-1")

    await page.get_by_role("link", name="Imports", exact=True).click()
    await expect(page.get_by_role("heading", name="Imports")).to_be_visible()
    await page.get_by_label("What the file holds").select_option("customers")
    await page.get_by_label("File (.csv with a header row, or .json list)").set_input_files(file)
    await page.screenshot(path=tmp_path / "form.png", full_page=True)
    await page.get_by_role("button", name="Check the file").click()

    summary = page.locator("#summary")
    await expect(summary).to_contain_text("Nothing has been written yet")
    await expect(page.locator('tr[data-action="insert"]')).to_have_count(3)
    update = page.locator('tr[data-action="update"]')
    await expect(update).to_contain_text("it@lakeside.test")
    await expect(update).to_contain_text("finance@lakeside.test")
    await page.screenshot(path=tmp_path / "imports.png", full_page=True)
    keep_screenshot(tmp_path / "imports.png", "console-imports.png")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await expect(update.locator("code").first).to_be_visible()  # the key stays in view
    await page.screenshot(path=tmp_path / "imports-phone.png", full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 860})
    async with sessions() as s:
        assert (await s.get(Customer, "C-100")).email == "it@lakeside.test"  # type: ignore[union-attr]

    await page.get_by_role("button", name="Confirm the import").click()
    await expect(page.locator("#summary")).to_contain_text("Imported 4 rows: 3 new, 1 updated.")
    await page.screenshot(path=tmp_path / "imported.png", full_page=True)
    async with sessions() as s:
        rows = {c.id: c for c in (await s.scalars(select(Customer))).all()}
    assert sorted(rows) == ["C-100", "C-101", "C-102", "C-103"]
    assert rows["C-100"].email == "finance@lakeside.test" and rows["C-102"].has_special_contract


async def test_a_large_file_shows_progress_and_the_page_follows_it(
    browser: Browser,
    site: str,
    sessions: Sessions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from starter.console import routes_imports

    monkeypatch.setattr(routes_imports, "SETTLE_SECONDS", 0.0)  # always the progress page first
    await add_user(sessions, "ops-1", Role.OPS)
    await with_password(sessions, "ops-1")
    file = tmp_path / "customers.csv"
    file.write_text(
        "id,name,email\n" + "".join(f"C-{n},Name {n},c{n}@x.test\n" for n in range(6000))
    )
    page = await new_page(browser, height=860)
    await page.goto(f"{site}/signin?next=/imports")
    await page.get_by_label("User id or email").fill("ops-1")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_label("What the file holds").select_option("customers")
    await page.get_by_label("File (.csv with a header row, or .json list)").set_input_files(file)
    await page.get_by_role("button", name="Check the file").click()
    # The progress page (unless the machine was quicker than the page), then the preview.
    if await page.locator("#progress").count():
        await page.screenshot(path=tmp_path / "checking.png", full_page=True)
    # Checking 6,000 rows is an import rolled back: as long as the import itself.
    await expect(page.locator("#summary")).to_contain_text(
        "Nothing has been written yet", timeout=60_000
    )
    await page.get_by_role("button", name="Confirm the import").click()
    if await page.locator("#progress").count():
        await page.screenshot(path=tmp_path / "importing.png", full_page=True)
    await expect(page.locator("#summary")).to_contain_text(
        "Imported 6000 rows: 6000 new, 0 updated.", timeout=60_000
    )
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Customer)) == 6000
