"""Settings, links and email building: the pieces with no server behind them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.errors import InvalidInputError
from domain.notifications import LinkSpec
from infra.config import Settings
from infra.links import InvalidLinkError, LinkSigner
from infra.mailer import EmailRenderer, message_id_for
from infra.mime import build_message, check_header


def test_placeholder_secret_is_refused_in_production_only() -> None:
    Settings(environment="dev", _env_file=None)
    with pytest.raises(ValidationError, match="PARTNERFLOW_LINK_SECRET"):
        Settings(environment="production", _env_file=None)
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", link_secret="short", _env_file=None)
    # A long secret is accepted; what refuses production now is the fakes (below).
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", link_secret="s" * 40, _env_file=None)
    assert "PARTNERFLOW_LINK_SECRET" not in str(refused.value)


def test_production_refuses_the_fake_gateway_and_bank() -> None:
    for env in ("dev", "test"):
        assert Settings(environment=env, _env_file=None).payment_gateway == "fake"
    own_key = "prod:" + base64.b64encode(b"k" * 32).decode()  # not the dev key
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", link_secret="s" * 40, codec_keys=own_key, _env_file=None)
    message = str(refused.value)
    assert "PARTNERFLOW_PAYMENT_GATEWAY=fake" in message
    assert "PARTNERFLOW_BANK_VERIFIER=fake" in message


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The old name and a bare number still mean days; the new name takes units.
    monkeypatch.setenv("PARTNERFLOW_INVITATION_VALIDITY_DAYS", "3")
    assert Settings(_env_file=None).invitation_validity == timedelta(days=3)
    monkeypatch.setenv("PARTNERFLOW_INVITATION_VALIDITY_DAYS", "0")
    with pytest.raises(ValidationError, match="invitation_validity"):
        Settings(_env_file=None)
    monkeypatch.setenv("PARTNERFLOW_INVITATION_VALIDITY", "15m")
    assert Settings(_env_file=None).invitation_validity == timedelta(minutes=15)


def test_links_are_signed_and_expire() -> None:
    signer = LinkSigner("k" * 40, "http://h/")
    spec = LinkSpec(
        name="u",
        workflow_id="wf",
        action="accept",
        actor_id="C-1",
        nonce="n",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    signed_at = datetime(2029, 12, 25, tzinfo=UTC)  # the business expiry is within the TTL
    url = signer.url(spec, now=signed_at)
    assert url.startswith("http://h/a/")
    claims = signer.verify(url.rsplit("/", 1)[1], now=datetime(2029, 12, 26, tzinfo=UTC))
    assert (claims.workflow_id, claims.action, claims.actor_id, claims.nonce) == (
        "wf",
        "accept",
        "C-1",
        "n",
    )
    with pytest.raises(InvalidLinkError, match="expired"):
        signer.verify(
            signer.token(spec, now=signed_at),
            now=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=1),
        )
    with pytest.raises(InvalidLinkError, match="not valid"):
        LinkSigner("other" * 10, "http://h").verify(signer.token(spec))


def test_message_id_is_derived_from_the_key() -> None:
    assert message_id_for("k1", "d") == message_id_for("k1", "d")
    assert message_id_for("k1", "d") != message_id_for("k2", "d")
    assert message_id_for("k1", "d").endswith("@d>")


def test_header_values_with_line_breaks_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        check_header("Subject", "hi\r\nBcc: x@y")
    with pytest.raises(InvalidInputError):
        build_message(
            sender="a@b", to="c@d", subject="x\ny", text="t", html="h", message_id="<m@d>"
        )


def test_every_template_has_both_parts_and_a_subject() -> None:
    from infra.mailer import TEMPLATE_DIR

    names = {p.name.removesuffix(".txt.j2") for p in (TEMPLATE_DIR / "email").glob("*.txt.j2")}
    htmls = {p.name.removesuffix(".html.j2") for p in (TEMPLATE_DIR / "email").glob("*.html.j2")}
    assert names and names == htmls - {"base", "_buttons"}


def test_html_is_escaped_and_missing_variables_are_errors() -> None:
    r = EmailRenderer()
    ctx = {
        "partner_name": "<script>",
        "customer_name": "C",
        "customer_id": "C-1",
        "mode": "resale",
        "expires_at": "x",
        "accept_url": "http://a",
        "decline_url": "http://d",
        "workflow_id": "w",
    }
    out = r.render("invitation", ctx)
    assert "&lt;script&gt;" in out.html and "<script>" not in out.html
    assert "<script>" in out.subject and "<script>" in out.text
    with pytest.raises(Exception, match="accept_url"):
        r.render("invitation", {k: v for k, v in ctx.items() if k != "accept_url"})
