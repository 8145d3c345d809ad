"""The hand-written MIME of outgoing emails reads back, with the standard library, as the
message that was meant: headers, both parts, non-ASCII subjects and names."""

from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default

import pytest

from domain.errors import InvalidInputError
from infra.mime import build_message


def parsed(**kw: str) -> EmailMessage:
    args = {
        "sender": "PartnerFlow <no-reply@partnerflow.test>",
        "to": "it@acme.example",
        "subject": "Invitation",
        "text": "Hello\n\nAccept: https://x.test/a?t=1\n",
        "html": "<p>Hello</p>",
        "message_id": "<k1@partnerflow.test>",
    } | kw
    out = build_message(**args)
    assert out.data is not None and out.message is None
    out.data.decode("ascii")  # nothing 8-bit on the wire
    assert b"\n" not in out.data.replace(b"\r\n", b"")  # CRLF line ends only
    msg = message_from_bytes(out.data, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body(preferencelist=(kind,))
    assert part is not None
    # A mail client shows CRLF line ends as line ends.
    return str(part.get_content()).replace("\r\n", "\n")


def test_an_ascii_message_reads_back_with_both_parts() -> None:
    msg = parsed()
    assert msg["From"] == "PartnerFlow <no-reply@partnerflow.test>"
    assert msg["To"] == "it@acme.example" and msg["Subject"] == "Invitation"
    assert msg["Message-ID"] == "<k1@partnerflow.test>" and msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    assert body(msg, "plain") == "Hello\n\nAccept: https://x.test/a?t=1\n"
    assert body(msg, "html").strip() == "<p>Hello</p>"


def test_chinese_subject_sender_name_and_bodies_round_trip() -> None:
    subject = "伙伴邀请：请在 2026-12-31 前确认 " + "长" * 80
    msg = parsed(
        sender="伙伴中心 <no-reply@partnerflow.test>",
        subject=subject,
        text="您好\n接受：https://x.test/a\n",
        html="<p>您好</p>" + "x" * 2000,
    )
    assert str(make_header(decode_header(str(msg["Subject"])))) == subject
    assert str(msg["From"]) == "伙伴中心 <no-reply@partnerflow.test>"
    assert body(msg, "plain") == "您好\n接受：https://x.test/a\n"
    assert body(msg, "html") == "<p>您好</p>" + "x" * 2000


def test_a_long_ascii_subject_and_long_lines_survive() -> None:
    subject = "Renewal task for customer C-1 " * 5
    msg = parsed(subject=subject.strip(), html="<p>" + "y" * 3000 + "</p>")
    assert str(msg["Subject"]) == subject.strip()
    assert body(msg, "html") == "<p>" + "y" * 3000 + "</p>"


def test_a_non_ascii_address_takes_the_standard_library_path() -> None:
    out = build_message(
        sender="a@b.test", to="用户@例子.test", subject="s", text="t", html="h", message_id="<m@d>"
    )
    assert out.data is None and out.message is not None
    assert out.message["To"] == "用户@例子.test" and out.to == "用户@例子.test"


@pytest.mark.parametrize("field", ["sender", "to", "subject", "message_id"])
def test_a_line_break_in_any_header_is_refused(field: str) -> None:
    args = {"sender": "a@b", "to": "c@d", "subject": "s", "text": "t", "html": "h"}
    args |= {"message_id": "<m@d>", field: "x\r\nBcc: evil@x"}
    with pytest.raises(InvalidInputError, match="line break"):
        build_message(**args)
