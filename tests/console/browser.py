"""Browser test plumbing: the console served by uvicorn on the test's event loop, a mail
sink that keeps files (for the dev mailbox), and Debian's headless Chromium via Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.client import Client

from activities.registry import Deps
from infra.config import Settings
from infra.smtp_sink import MailSink
from starter.console.app import create_console_app
from tests.console.helpers import PASSWORD
from tests.harness import queue_worker

CHROMIUM = Path("/usr/bin/chromium")

# Playwright's assertions wait 5 s by default; a page here waits on a worker and a server that
# share two cores with the rest of the suite (a journey failed once at load 10 waiting for its
# page). Still a bound: a page that never shows what is expected fails.
expect.set_options(timeout=20_000)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def chromium_path() -> str:
    """Debian's chromium; `make test` installs it (never `playwright install`)."""
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium and "
            "chromium-driver with apt-get)"
        )
    return str(CHROMIUM)


def free_port(ports: range | None = None) -> int:
    """A free port in ``ports``, the calling suite's share of the machine's ports; without
    a range, one the system picks."""
    if ports is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def site_settings(
    sink: MailSink, tmp_path: Path, port: int, task_queue: str = "partnerflow"
) -> Settings:
    """Settings for a console served on 127.0.0.1:port: a database under tmp_path, emails
    to ``sink``, links to the served console, English by default."""
    return Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        smtp_host=sink.host,
        smtp_port=sink.port,
        link_secret="test-secret-" + "x" * 32,
        public_base_url=f"http://127.0.0.1:{port}",
        default_locale="en",
        task_queue=task_queue,
        console_import_dir=tmp_path / "imports",
        _env_file=None,
    )


@asynccontextmanager
async def console_site(
    client: Client, deps: Deps, tmp_path: Path, sink: MailSink, ports: range
) -> AsyncIterator[str]:
    """The console served on a port of ``ports`` with a worker of its own task queue on
    ``client`` (the dev server: the start services set search attributes, which the
    time-skipping server lacks); ``sink`` must keep files (the dev mailbox reads them).
    Yields the base URL."""
    port = free_port(ports)
    assert sink.handler.directory is not None
    async with queue_worker(client, deps) as queue:
        settings = site_settings(sink, tmp_path, port, task_queue=queue)
        async with served(settings, client, port, sink.handler.directory) as url:
            yield url


@asynccontextmanager
async def served(
    settings: Settings, client: Client, port: int, mail_dir: Path
) -> AsyncIterator[str]:
    """The console on 127.0.0.1:port until the block ends; yields its base URL."""
    app = create_console_app(settings, client=client, mail_dir=mail_dir)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    """A page in a fresh context (its own cookies) with a window of width x height."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    return await context.new_page()


async def sign_in(page: Page, site: str, account: str) -> None:
    """Signs ``account`` in with the test password and waits for the inbox."""
    await page.goto(f"{site}/signin")
    await page.get_by_label("User id or email").fill(account)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


async def signed_in(browser: Browser, site: str, account: str, width: int = 1280) -> Page:
    """A new page of ``account``, signed in, in a window ``width`` px wide."""
    page = await new_page(browser, width)
    await sign_in(page, site, account)
    return page


def keep_screenshot(source: Path, name: str) -> None:
    """Copies a screenshot to docs/ (shown in the README), only when
    ``PARTNERFLOW_SCREENSHOTS=1``: a test run must not change tracked files."""
    if os.environ.get("PARTNERFLOW_SCREENSHOTS") != "1":
        return
    DOCS.mkdir(exist_ok=True)
    shutil.copyfile(source, DOCS / name)
