"""The console over HTTP: the ASGI app with httpx, a real worker, the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from infra.config import Settings
from starter.console.app import create_console_app


@pytest.fixture
async def web(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the console (keeps cookies, does not follow redirects)."""
    app = create_console_app(settings, client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://links.test"
    ) as c:
        yield c


@pytest.fixture
async def other_web(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same console (another person)."""
    app = create_console_app(settings, client=client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://links.test"
    ) as c:
        yield c
