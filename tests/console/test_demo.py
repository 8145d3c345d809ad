"""Demo data gives each demo role a console user with a printed password, and
``demo-data`` prints a readable tour, not Python dicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import Settings
from infra.migrate import upgrade_async
from starter.console.auth import check_password
from starter.console.demo import DEMO_SIGNINS, demo_password, signins_text, tour
from starter.demo.core import load_demo
from starter.services.context import AppContext


async def test_demo_users_sign_in_with_their_printed_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo writes its files under var/demo: keep them in this test's directory.
    import starter.demo.incentives
    import starter.demo.renewals

    monkeypatch.setattr(starter.demo.incentives, "DEMO_DIR", tmp_path / "demo")
    monkeypatch.setattr(
        starter.demo.renewals, "RENEWED_FILE", tmp_path / "demo" / "subscriptions-renewed.csv"
    )
    settings = Settings(
        environment="dev",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        public_base_url="http://127.0.0.1:8080",
        _env_file=None,
    )
    await upgrade_async(settings.database_url)
    ctx = AppContext(settings)
    try:
        summary = await load_demo(ctx)
        for user_id, _, _ in DEMO_SIGNINS:
            assert await check_password(ctx.sessions, user_id, demo_password(user_id)) == user_id
    finally:
        await ctx.close()
    text = tour(summary)
    assert "In the console (http://127.0.0.1:8080/), sign in as:" in text
    assert "fin-zhao  password fin-zhao-demo" in text
    assert "partnerflow payout approve incentive-P-1001-" in text
    assert "{" not in text and "['" not in text  # no Python dicts or lists
    assert "ops-li" in signins_text("http://127.0.0.1:8080/")
