"""Link lifetime and the Temporal connection's security settings (no server behind them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.service import TLSConfig

from domain.notifications import LinkSpec
from infra.config import Settings
from infra.links import InvalidLinkError, LinkSigner
from infra.temporal import tls_config

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def spec(expires_at: datetime | None, *, offline: bool = False) -> LinkSpec:
    return LinkSpec(
        name="approve_url",
        workflow_id="incentive-P-1-2026-11",
        run_id="run-1",
        task_key="incentive-P-1-2026-11:approval",
        action="approve",
        actor_id="u-fin",
        nonce="n-1",
        expires_at=expires_at,
        offline=offline,
    )


def test_a_link_without_business_expiry_expires_after_the_ttl() -> None:
    signer = LinkSigner("k" * 40, "http://h", ttl=timedelta(days=14))
    token = signer.token(spec(None), now=NOW)
    claims = signer.verify(token, now=NOW + timedelta(days=13))
    assert claims.expires_at == NOW + timedelta(days=14)
    assert (claims.run_id, claims.task_key) == ("run-1", "incentive-P-1-2026-11:approval")
    with pytest.raises(InvalidLinkError, match=r"expired on 15 Dec 2026, 09:30 UTC"):
        signer.verify(token, now=NOW + timedelta(days=14, seconds=1))


def test_the_earlier_of_business_expiry_and_ttl_wins() -> None:
    signer = LinkSigner("k" * 40, "http://h", ttl=timedelta(days=14))
    soon = NOW + timedelta(days=7)
    assert signer.expiry(spec(soon), now=NOW) == soon
    late = NOW + timedelta(days=30)
    assert signer.expiry(spec(late), now=NOW) == NOW + timedelta(days=14)


def test_an_offline_invitation_link_does_not_expire() -> None:
    signer = LinkSigner("k" * 40, "http://h", ttl=timedelta(days=14))
    token = signer.token(spec(None, offline=True), now=NOW)
    assert signer.verify(token, now=NOW + timedelta(days=400)).expires_at is None


def test_link_ttl_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).link_ttl == timedelta(days=14)
    monkeypatch.setenv("PARTNERFLOW_LINK_TTL", "P3D")
    assert Settings(_env_file=None).link_ttl == timedelta(days=3)
    monkeypatch.setenv("PARTNERFLOW_LINK_TTL", "PT0S")
    with pytest.raises(ValidationError, match="PARTNERFLOW_LINK_TTL"):
        Settings(_env_file=None)


def test_no_tls_by_default() -> None:
    assert tls_config(Settings(_env_file=None)) is False


def test_mtls_settings_build_the_tls_config(tmp_path: Path) -> None:
    files = {}
    for name in ("ca", "cert", "key"):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_bytes(f"-----{name}-----".encode())
    settings = Settings(
        temporal_tls_ca=files["ca"],
        temporal_tls_cert=files["cert"],
        temporal_tls_key=files["key"],
        temporal_tls_server_name="temporal.internal",
        _env_file=None,
    )
    assert tls_config(settings) == TLSConfig(
        server_root_ca_cert=b"-----ca-----",
        client_cert=b"-----cert-----",
        client_private_key=b"-----key-----",
        domain="temporal.internal",
    )


def test_an_api_key_alone_turns_tls_on_with_system_roots() -> None:
    settings = Settings(temporal_api_key="secret-key", _env_file=None)
    assert tls_config(settings) == TLSConfig()
    assert "secret-key" not in repr(settings)


def test_tls_settings_are_checked_at_the_door(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(ValidationError, match="set both or neither"):
        Settings(temporal_tls_cert=cert, _env_file=None)
    with pytest.raises(ValidationError, match="no such file"):
        Settings(temporal_tls_ca=tmp_path / "missing.pem", _env_file=None)
