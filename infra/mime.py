"""The bytes of an outgoing email: a multipart/alternative message with a text and an HTML
part, written directly rather than through ``email.message.EmailMessage``.

The standard library's message objects parse every header into a structured object and
fold it again on output; in a profile of the email activity, building and flattening the
message took 35% of its time on the event loop (``bench.email_activity``). The messages
here have one shape, so they are written as text: RFC 2047 encoded words for a non-ASCII
subject or sender name, 7bit parts when the text is ASCII with short lines, base64 parts
otherwise. Addresses that are not ASCII (internationalised mailboxes) take the standard
library's path, which lets aiosmtplib negotiate SMTPUTF8 with the server.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache

from domain.errors import InvalidInputError


@dataclass(frozen=True, kw_only=True)
class OutgoingEmail:
    """One message ready for an SMTP server: the envelope and either the wire bytes or,
    for a non-ASCII address, the standard library's message."""

    envelope_from: str
    to: str
    message_id: str
    data: bytes | None = None
    message: EmailMessage | None = None


def check_header(name: str, value: str) -> str:
    """Refuses header values that could inject headers (CR or LF)."""
    if "\r" in value or "\n" in value:
        raise InvalidInputError(f"email header {name} contains a line break; refusing to send")
    return value


def build_message(
    *, sender: str, to: str, subject: str, text: str, html: str, message_id: str
) -> OutgoingEmail:
    """A multipart/alternative message with text and HTML parts."""
    headers = (("From", sender), ("To", to), ("Subject", subject), ("Message-ID", message_id))
    for name, value in headers:
        check_header(name, value)
    envelope_from = parseaddr(sender)[1] or sender
    if not (to.isascii() and envelope_from.isascii()):
        return OutgoingEmail(
            envelope_from=envelope_from,
            to=to,
            message_id=message_id,
            message=_stdlib_message(sender, to, subject, text, html, message_id),
        )
    boundary = "==pf_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    head = (
        f"From: {_sender_header(sender)}\r\n"
        f"To: {to}\r\n"
        f"Subject: {_encoded(subject)}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
        "\r\n"
    )
    data = b"".join(
        (
            head.encode("ascii"),
            _part(boundary, "plain", text),
            _part(boundary, "html", html),
            f"--{boundary}--\r\n".encode("ascii"),
        )
    )
    return OutgoingEmail(envelope_from=envelope_from, to=to, message_id=message_id, data=data)


def _encoded(value: str) -> str:
    # ASCII stays as it is (folded when long); anything else becomes encoded words.
    if value.isascii():
        if len(value) <= 68:
            return value
        return Header(value, "us-ascii", header_name="Subject").encode(linesep="\r\n")
    return Header(value, "utf-8", header_name="Subject").encode(linesep="\r\n")


@lru_cache(maxsize=16)
def _sender_header(sender: str) -> str:
    # One sender for the whole process: computed once.
    name, address = parseaddr(sender)
    if not name or name.isascii():
        return sender
    return formataddr((name, address), charset="utf-8")


def _part(boundary: str, subtype: str, body: str) -> bytes:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if body.isascii() and all(len(line) <= 900 for line in lines) and boundary not in body:
        # The CRLF before the next boundary belongs to the boundary (RFC 2046), hence one more.
        encoding, payload = "7bit", ("\r\n".join(lines) + "\r\n").encode("ascii")
    else:
        encoding = "base64"
        payload = base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")
    return (
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n"
        "\r\n"
    ).encode("ascii") + payload


def _stdlib_message(
    sender: str, to: str, subject: str, text: str, html: str, message_id: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = formatdate(usegmt=True)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg
