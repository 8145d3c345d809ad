"""Browser test plumbing: the console served by uvicorn on the test's event loop, a mail
sink that keeps files (for the dev mailbox), and Debian's headless Chromium via Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from playwright.async_api import Browser, async_playwright, expect
from temporalio.client import Client

from infra.config import Settings
from starter.console.app import create_console_app

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


def keep_screenshot(source: Path, name: str) -> None:
    """Copies a screenshot to docs/ (shown in the README), only when
    ``PARTNERFLOW_SCREENSHOTS=1``: a test run must not change tracked files."""
    if os.environ.get("PARTNERFLOW_SCREENSHOTS") != "1":
        return
    DOCS.mkdir(exist_ok=True)
    shutil.copyfile(source, DOCS / name)
