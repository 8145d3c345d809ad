"""Rendering emails from templates and handing them to an SMTP server."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from domain.errors import PermanentDeliveryError
from infra import i18n
from infra.mime import OutgoingEmail

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True, kw_only=True)
class RenderedEmail:
    """A message ready to send."""

    subject: str
    text: str
    html: str


class EmailRenderer:
    """Renders ``email/<name>.txt.j2`` and ``email/<name>.html.j2`` in the reader's language.

    The text template sets the subject with ``{% set subject = _(...) %}``. HTML is
    autoescaped; the text part is not HTML, so escaping it would corrupt it. One Jinja
    environment per locale, with that locale's catalog installed (the ``i18n`` extension);
    the filters ``when``, ``money`` and ``term`` format times, CNY and enum words for the reader.
    """

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self._template_dir = template_dir
        self._envs: dict[str, Environment] = {}

    def environment(self, locale: str) -> Environment:
        """The environment of ``locale`` (built on first use)."""
        env = self._envs.get(locale)
        if env is None:
            env = make_environment(self._template_dir, locale)
            self._envs[locale] = env
        return env

    def render(
        self,
        name: str,
        context: dict[str, Any],
        *,
        locale: str = "en",
        timezone: str | None = None,
    ) -> RenderedEmail:
        """Renders both parts; a missing variable is an error, not an empty string."""
        env = self.environment(locale)
        context = {**context, "lang": locale, "reader_timezone": timezone}
        text_module = env.get_template(f"email/{name}.txt.j2").make_module(context)
        subject = str(getattr(text_module, "subject", "")).strip()
        if not subject:
            raise ValueError(f"template email/{name}.txt.j2 does not set a subject")
        html = env.get_template(f"email/{name}.html.j2").render(context, subject=subject)
        return RenderedEmail(subject=subject, text=str(text_module).strip() + "\n", html=html)


def make_environment(template_dir: Path, locale: str) -> Environment:
    """A Jinja environment speaking ``locale``: gettext from its catalog, Babel formats."""
    env = Environment(
        loader=FileSystemLoader(template_dir),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    install_locale(env, locale)
    return env


def install_locale(env: Environment, locale: str) -> None:
    """Installs ``locale``'s catalog and the ``when`` / ``money`` / ``term`` filters on ``env``
    (an environment with the ``jinja2.ext.i18n`` extension): emails and console pages alike."""
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]

    @pass_context
    def when(ctx: Context, value: object) -> str:
        return i18n.format_when(value, locale, ctx.get("reader_timezone"))

    env.filters["when"] = when
    env.filters["money"] = lambda value: i18n.format_money(value, locale)
    env.filters["term"] = lambda value: i18n.term(locale, value)


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID derived from the idempotency key: the same email always has the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    """How to reach the SMTP server; ``pool_size`` connections are kept open between
    messages (0: one connection per message)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    pool_size: int = 0


class SmtpMailer:
    """Sends with aiosmtplib. 5xx -> ``PermanentDeliveryError``; 4xx and network errors raise
    as they are, so the activity retries them with backoff.

    Up to ``pool_size`` idle connections are kept for the next message: connecting (TCP,
    greeting, EHLO, STARTTLS, AUTH) cost more than the message itself on a busy worker.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._idle: list[aiosmtplib.SMTP] = []

    async def send(self, msg: OutgoingEmail) -> None:
        """Delivers one message; returns only after the server accepted it (250)."""
        try:
            await self._deliver(msg)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [err.code for err in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                first = exc.recipients[0]
                raise PermanentDeliveryError(
                    f"{first.code} {first.message} (the mail server refused the recipient)"
                ) from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentDeliveryError(
                    f"{exc.code} {exc.message} (the mail server refused the message)"
                ) from exc
            raise

    async def _deliver(self, msg: OutgoingEmail) -> None:
        while self._idle:
            smtp = self._idle.pop()
            if not smtp.is_connected:
                continue
            try:
                await _transmit(smtp, msg)
            except aiosmtplib.SMTPServerDisconnected:
                # The server dropped an idle connection (restart, idle timeout) before taking
                # the message: nothing was delivered, so a fresh connection may send it.
                smtp.close()
                continue
            except BaseException:
                smtp.close()
                raise
            self._release(smtp)
            return
        smtp = self._client()
        try:
            await smtp.connect()
            await _transmit(smtp, msg)
        except BaseException:
            smtp.close()
            raise
        self._release(smtp)

    def _client(self) -> aiosmtplib.SMTP:
        c = self._config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password,
            start_tls=c.starttls,
            timeout=c.timeout,
        )

    def _release(self, smtp: aiosmtplib.SMTP) -> None:
        if len(self._idle) < self._config.pool_size and smtp.is_connected:
            self._idle.append(smtp)
        else:
            smtp.close()

    async def aclose(self) -> None:
        """Closes the idle connections (QUIT, as a polite client does)."""
        idle, self._idle = self._idle, []
        for smtp in idle:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()


async def _transmit(smtp: aiosmtplib.SMTP, msg: OutgoingEmail) -> None:
    if msg.data is not None:
        await smtp.sendmail(msg.envelope_from, [msg.to], msg.data)
    else:
        # A non-ASCII address: aiosmtplib flattens the message and asks for SMTPUTF8.
        assert msg.message is not None
        await smtp.send_message(msg.message)
