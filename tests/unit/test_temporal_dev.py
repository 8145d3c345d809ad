"""The dev server's command line is the one `partnerflow dev`, `make bench` and `make chaos` run."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.temporal_dev import DYNAMIC_CONFIG, SQLITE_PRAGMAS, dev_server_argv


def _values(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_headless_server_carries_every_setting() -> None:
    argv = dev_server_argv(port=7300, db_file=Path("/tmp/t.db"), http_port=7301)
    assert argv[1:3] == ["server", "start-dev"]
    assert "--headless" in argv and "--ui-port" not in argv
    assert _values(argv, "--port") == ["7300"] and _values(argv, "--http-port") == ["7301"]
    assert _values(argv, "--db-filename") == ["/tmp/t.db"]
    assert _values(argv, "--sqlite-pragma") == list(SQLITE_PRAGMAS)
    assert _values(argv, "--dynamic-config-value") == [
        f"{k}={v}" for k, v in DYNAMIC_CONFIG.items()
    ]
    assert "PartnerId=Keyword" in _values(argv, "--search-attribute")


def test_ui_server_gets_its_port_and_codec() -> None:
    argv = dev_server_argv(
        port=7300, db_file=Path("/tmp/t.db"), ui_port=8300, codec_endpoint="http://x/codec"
    )
    assert "--headless" not in argv
    assert _values(argv, "--ui-port") == ["8300"]
    assert _values(argv, "--ui-codec-endpoint") == ["http://x/codec"]
    assert "--http-port" not in argv


def test_dynamic_config_values_are_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DYNAMIC_CONFIG, "history.example", 3)
    argv = dev_server_argv(port=7300, db_file=Path("/tmp/t.db"))
    assert _values(argv, "--dynamic-config-value") == ["history.example=3"]
