"""Every email renders in both languages against the demo data; a zh-CN email has no English
left beyond proper names, ids, links and CLI commands."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default

import pytest

from infra.mailer import EmailRenderer
from infra.mime import build_message
from tests.i18n.samples import email_names, sample_context, variant_context

ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
# Words a Chinese reader sees in Chinese emails too: the product, certificate names, the CLI's
# option values (typed as they are), units and abbreviations.
ALLOWED = {
    "PartnerFlow",
    "ECS",
    "xlarge",
    "voucher",
    "bank_transfer",
    "recharge_account",
    "bank",
    "transfer",
    "recharge",
    "account",
}


def _strip_known(text: str, context: dict[str, object]) -> str:
    """Removes what is not prose: names, ids and links from the context, code and commands."""
    text = re.sub(r"<code>.*?</code>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^.*partnerflow .*$", " ", text, flags=re.M)
    text = re.sub(r"&\w+;", " ", text)
    values = list(_values(context))
    for value in sorted(values, key=len, reverse=True):
        if len(value) > 1:
            text = text.replace(value, " ")
    return text


# Values shown translated: they must not be stripped as if they were names.
TRANSLATED = {
    "mode",
    "to_mode",
    "kind",
    "what",
    "initiator",
    "recipient",
    "method",
    "outcome",
    "step",
    "path_title",
    "path",
    "level",
    "levels",
    "certified",
    "billing",
    "partner_type",
    "status",
    "authorization_status",
    "reason",
    "letter_text",
    "site",
    "description",
    "action",
    "issuer",
}


def _values(value: object) -> list[str]:
    """Every name, id and number in the context (also inside the statement, lists and
    invoices), but not the values the email must show translated."""
    if isinstance(value, dict):
        return [v for key, item in value.items() if key not in TRANSLATED for v in _values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    return [str(value)] if isinstance(value, (str, int)) else []


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer()


@pytest.mark.parametrize("variant", ["sample", "variant"])
@pytest.mark.parametrize("name", email_names())
def test_zh_cn_email_has_no_english_prose(renderer: EmailRenderer, name: str, variant: str) -> None:
    context = sample_context(name) if variant == "sample" else variant_context(name)
    out = renderer.render(name, context, locale="zh-CN")
    assert '<html lang="zh-CN">' in out.html
    for part, text in (("subject", out.subject), ("text", out.text), ("html", out.html)):
        words = set(ASCII_WORD.findall(_strip_known(text, context))) - ALLOWED
        assert not words, f"{name} {part}: English left: {sorted(words)}\n{text}"
        assert re.search(r"[\u4e00-\u9fff]", text), f"{name} {part} has no Chinese"
    # A command stays a command: its words and values are typed as they are.
    for command in re.findall(r"partnerflow [^\n<]*", out.text):
        assert not re.search(r"[\u4e00-\u9fff]", command), f"{name}: {command}"


@pytest.mark.parametrize("variant", ["sample", "variant"])
@pytest.mark.parametrize("name", email_names())
def test_en_email_is_english(renderer: EmailRenderer, name: str, variant: str) -> None:
    context = sample_context(name) if variant == "sample" else variant_context(name)
    out = renderer.render(name, context, locale="en")
    assert '<html lang="en">' in out.html
    # Chinese only where the vendor's own term is quoted next to the English one.
    prose = re.sub(r"\([^)]*[\u4e00-\u9fff][^)]*\)", "", out.text + out.subject)
    assert not re.search(r"[\u4e00-\u9fff]", _strip_known(prose, context)), out.text


def test_times_and_money_follow_the_reader(renderer: EmailRenderer) -> None:
    context = sample_context()  # expires 2026-12-09 08:00 UTC, 1234.50 CNY
    zh = renderer.render("invitation", context, locale="zh-CN")
    assert "2026年12月9日 16:00 北京时间" in zh.text
    en = renderer.render("invitation", context, locale="en")
    assert "December 9, 2026 8:00 AM UTC" in en.text
    own_zone = renderer.render("invitation", context, locale="zh-CN", timezone="Europe/Berlin")
    assert "2026年12月9日 09:00 Europe/Berlin" in own_zone.text
    statement = renderer.render("incentive_statement", context, locale="zh-CN")
    assert "¥1,234.50" in statement.subject and "¥12,345.60" in statement.text


def test_chinese_subject_is_rfc2047_encoded_and_the_text_part_is_readable(
    renderer: EmailRenderer,
) -> None:
    out = renderer.render("invitation", sample_context(), locale="zh-CN")
    msg = build_message(
        sender="PartnerFlow <no-reply@partnerflow.local>",
        to="it@acme-retail.example",
        subject=out.subject,
        text=out.text,
        html=out.html,
        message_id="<x@partnerflow.local>",
    )
    # Exactly the bytes sent to the server for ASCII addresses (no SMTPUTF8).
    raw = msg.data
    assert raw is not None
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in subject_line.lower()
    raw.decode("ascii")  # nothing 8-bit on the wire: every part has a transfer encoding
    parsed = message_from_bytes(raw, policy=default)
    assert str(make_header(decode_header(str(parsed["Subject"])))) == out.subject
    text_part = parsed.get_body(preferencelist=("plain",))
    assert text_part is not None and "邀请您的账号 C-2001" in text_part.get_content()
