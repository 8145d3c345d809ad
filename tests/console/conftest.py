"""The console over HTTP: the ASGI app with httpx, a real worker, the real database; and
for the browser tests, a file-keeping mail sink and headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser
from temporalio.client import Client

from infra.config import Settings
from infra.smtp_sink import MailSink
from tests.console.browser import chromium
from tests.console.helpers import console_client


@pytest.fixture
async def web(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the console (keeps cookies, does not follow redirects)."""
    async with console_client(settings, client) as c:
        yield c


@pytest.fixture
async def other_web(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same console (another person)."""
    async with console_client(settings, client) as c:
        yield c


@pytest.fixture
def dir_sink(tmp_path: Path) -> Iterator[MailSink]:
    """An SMTP sink that also keeps .eml files, as the dev stack's does (its dev mailbox
    reads them)."""
    with MailSink(directory=tmp_path / "mail") as sink:
        yield sink


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium per module (it takes seconds to start on a busy machine)."""
    async with chromium() as b:
        yield b
