"""The dev mailbox: what the dev stack's SMTP sink received, readable in the browser, and
the console's own sign-in email."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from infra.config import Settings
from infra.links import fmt_time
from infra.mailer import EmailRenderer, SmtpConfig, SmtpMailer, message_id_for
from infra.mime import build_message
from infra.smtp_sink import read_mail_dir

URL = re.compile(r"https?://[^\s<>\"']+")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class Mail:
    """One received message as the page shows it."""

    id: str
    subject: str
    to: str
    sender: str
    received: str
    text: str
    html: str
    links: list[str]


def _part(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body(preferencelist=(kind,))
    return "" if part is None else str(part.get_content())


def _mail(mail_id: str, msg: EmailMessage) -> Mail:
    text = _part(msg, "plain")
    try:
        received = fmt_time(parsedate_to_datetime(str(msg["Date"])))
    except (TypeError, ValueError):
        received = str(msg["Date"] or "")
    return Mail(
        id=mail_id,
        subject=str(msg["Subject"] or "(no subject)"),
        to=str(msg["To"] or ""),
        sender=str(msg["From"] or ""),
        received=received,
        text=text,
        html=_part(msg, "html"),
        links=list(dict.fromkeys(URL.findall(text))),
    )


def list_mail(directory: Path) -> list[Mail]:
    """Every message, newest first."""
    return [_mail(i, m) for i, m in reversed(read_mail_dir(directory))]


def one_mail(directory: Path, mail_id: str) -> Mail | None:
    """One message by its id (the file name), or None."""
    if not _ID.match(mail_id):
        return None
    path = directory / f"{mail_id}.eml"
    if not path.is_file():
        return None
    return next((_mail(i, m) for i, m in read_mail_dir(directory) if i == mail_id), None)


async def send_signin_mail(
    settings: Settings,
    to: str,
    recipient_name: str,
    accounts: list[dict[str, str]],
    expires: datetime,
    locale: str = "en",
    timezone: str | None = None,
) -> None:
    """Sends the sign-in links for the accounts of one address (one email, in the language
    of the first account's person)."""
    rendered = EmailRenderer().render(
        "console_signin",
        {
            "recipient_name": recipient_name,
            "accounts": accounts,
            "expires_at": expires,
            "workflow_id": "",
        },
        locale=locale,
        timezone=timezone,
    )
    msg = build_message(
        sender=settings.mail_from,
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id_for("signin:" + accounts[0]["url"], settings.message_id_domain),
    )
    await SmtpMailer(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    ).send(msg)
