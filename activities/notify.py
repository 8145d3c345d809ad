"""The email activity: outbox row first, then SMTP, then mark sent (or bounced)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import (
    BindParameter,
    bindparam,
    case,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.errors import business_errors
from domain.errors import InvalidInputError, InvariantError, PermanentDeliveryError
from domain.notifications import UNDELIVERABLE, EmailRequest, EmailResult
from infra import i18n
from infra.db import insert_ignore, table_of, utcnow
from infra.links import LinkSigner
from infra.mailer import EmailRenderer, SmtpMailer, message_id_for
from infra.mime import OutgoingEmail, build_message
from infra.tables import Customer, EmailOutbox, Partner, User

HEARTBEAT_EVERY = 2.0

# Who reads an address, in the order their settings win: the users (active first), then the
# customers, then the partners. One statement, built once (bound by name at execution).
_ADDRESS: BindParameter[str] = bindparam("address")
_READERS = union_all(
    select(
        literal(0).label("rank"),
        case((User.active, 0), else_=1).label("inactive"),
        User.id,
        User.locale,
        User.timezone,
    ).where(func.lower(User.email) == _ADDRESS),
    select(literal(1), literal(0), Customer.id, Customer.locale, Customer.timezone).where(
        func.lower(Customer.email) == _ADDRESS
    ),
    select(literal(2), literal(0), Partner.id, Partner.locale, Partner.timezone).where(
        func.lower(Partner.contact_email) == _ADDRESS
    ),
).order_by("rank", "inactive", "id")
_BY_KEY = select(EmailOutbox).where(EmailOutbox.idempotency_key == bindparam("key"))
_OUTCOME_BY_KEY = select(EmailOutbox.status, EmailOutbox.message_id, EmailOutbox.last_error).where(
    EmailOutbox.idempotency_key == bindparam("key")
)
_OUTBOX = table_of(EmailOutbox)
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(status="sent", sent_at=bindparam("sent_time"), last_error=None)
)


@asynccontextmanager
async def heartbeating(every: float = HEARTBEAT_EVERY) -> AsyncIterator[None]:
    """Heartbeats while the body runs, so a dead worker is noticed within the heartbeat
    timeout instead of the whole start-to-close timeout."""
    if not activity.in_activity():
        yield
        return

    async def beat() -> None:
        # The first beat after ``every``, not at once: an SMTP exchange usually ends well
        # before, and a beat at once cost a server round trip per email for nothing (the
        # heartbeat timeout counts from the attempt's start when no beat has come).
        while True:
            await asyncio.sleep(every)
            activity.heartbeat()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


class EmailActivities:
    """Sends each email exactly once per idempotency key.

    The outbox row is written before sending, with a Message-ID derived from the key. If the
    worker dies after the SMTP 250 but before the row is marked sent, the retry sends again
    with the *same* Message-ID, which receiving systems use to drop the duplicate.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        mailer: SmtpMailer,
        renderer: EmailRenderer,
        signer: LinkSigner,
        *,
        sender: str,
        message_id_domain: str,
        default_locale: str = "zh-CN",
    ) -> None:
        self._sessions = sessions
        self._mailer = mailer
        self._renderer = renderer
        self._signer = signer
        self._sender = sender
        self._domain = message_id_domain
        self._default_locale = default_locale

    @activity.defn
    @business_errors
    async def send_email(self, req: EmailRequest) -> EmailResult:
        """Renders, records and sends one email (once per ``req.key``)."""
        by_key = {"key": req.key}
        async with self._sessions.begin() as s:
            # Looked up first: the acceptance emails of an invitation are usually sent already
            # (by the binding activity) when the workflow's own send comes. A first attempt
            # then writes the row (4 statements per email with the reader's language and the
            # sent mark); a retry, or a first attempt that lost the race for the key, counts
            # itself on the row the first one wrote (read whole only then).
            # Its outcome first (no bodies): an email already sent, bounced or invalid ends here.
            found = (await s.execute(_OUTCOME_BY_KEY, by_key)).first()
            if found is not None and (found.status == "sent" or found.status in UNDELIVERABLE):
                status = "already_sent" if found.status == "sent" else found.status
                error = None if found.status == "sent" else found.last_error
                return EmailResult(
                    key=req.key, message_id=found.message_id, status=status, error=error
                )
            prepared = await self._record_first(s, req) if found is None else None
            if prepared is None:
                row = await s.scalar(_BY_KEY, by_key)
                if row is None:
                    raise InvariantError(f"outbox row {req.key} vanished during its insert")
                prepared = await self._prepare_retry(s, req, row)
            if isinstance(prepared, EmailResult):
                return prepared
            row_id, message_id, msg = prepared
        try:
            async with heartbeating():
                await self._mailer.send(msg)
        except PermanentDeliveryError as exc:
            # SMTP 5xx: the address (or the message) is refused for good. Recorded on the row;
            # the workflow puts it on its timeline and opens a task for ops.
            async with self._sessions.begin() as s:
                await self._mark(s, row_id, "bounced", exc.message)
            return EmailResult(
                key=req.key, message_id=message_id, status="bounced", error=exc.message
            )
        except Exception as exc:
            async with self._sessions.begin() as s:
                await s.execute(
                    update(EmailOutbox)
                    .where(EmailOutbox.id == row_id)
                    .values(last_error=f"{type(exc).__name__}: {exc}"[:2000])
                )
            raise
        async with self._sessions.begin() as s:
            await s.execute(_MARK_SENT, {"row_id": row_id, "sent_time": utcnow()})
        return EmailResult(key=req.key, message_id=message_id, status="sent")

    async def _record_first(
        self, s: AsyncSession, req: EmailRequest
    ) -> tuple[int, str, OutgoingEmail] | EmailResult | None:
        """The first attempt: renders the email and writes its outbox row already counting
        this attempt, in one ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``. Returns the
        row's id, Message-ID and the message to send; the result when the message can never be
        sent (recorded ``invalid``, attempts 0); None when another attempt wrote the row
        first (the UNIQUE idempotency key)."""
        message_id = message_id_for(req.key, self._domain)
        context = dict(req.context)
        for link in req.links:
            context[link.name] = self._signer.url(link)
        # The reader's language is looked up here, not in the workflow: histories stay as they
        # are, and a changed setting applies to emails not yet rendered.
        locale, timezone = await self._reader(s, req.to)
        rendered = self._renderer.render(req.template, context, locale=locale, timezone=timezone)
        msg: OutgoingEmail | None = None
        error: str | None = None
        try:
            msg = build_message(
                sender=self._sender,
                to=req.to,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                message_id=message_id,
            )
        except InvalidInputError as exc:
            # A line break in a header would inject headers: never sent, and never worth a
            # retry; the workflow asks a person to fix the data and goes on.
            error = exc.message
        row_id = await s.scalar(
            insert_ignore(s, EmailOutbox, ["idempotency_key"], returning=["id"]),
            {
                "idempotency_key": req.key,
                "message_id": message_id,
                "workflow_id": req.workflow_id,
                "template": req.template,
                "to_addr": req.to,
                "subject": rendered.subject,
                "body_text": rendered.text,
                "body_html": rendered.html,
                "status": "pending" if msg is not None else "invalid",
                "attempts": 1 if msg is not None else 0,
                "last_error": error,
                "created_at": utcnow(),
            },
        )
        if row_id is None:
            return None
        if msg is None:
            assert error is not None
            return EmailResult(key=req.key, message_id=message_id, status="invalid", error=error)
        return row_id, message_id, msg

    async def _prepare_retry(
        self, s: AsyncSession, req: EmailRequest, row: EmailOutbox
    ) -> tuple[int, str, OutgoingEmail] | EmailResult:
        """A later attempt: the row as the first one wrote it; counts this attempt unless an
        earlier one already decided (sent, bounced, invalid)."""
        if row.status == "sent":
            return EmailResult(key=req.key, message_id=row.message_id, status="already_sent")
        if row.status in UNDELIVERABLE:
            # Decided by an earlier attempt: a refused address is not tried again.
            return EmailResult(
                key=req.key, message_id=row.message_id, status=row.status, error=row.last_error
            )
        try:
            msg = build_message(
                sender=self._sender,
                to=row.to_addr,
                subject=row.subject,
                text=row.body_text,
                html=row.body_html,
                message_id=row.message_id,
            )
        except InvalidInputError as exc:
            await self._mark(s, row.id, "invalid", exc.message)
            return EmailResult(
                key=req.key, message_id=row.message_id, status="invalid", error=exc.message
            )
        await s.execute(
            update(EmailOutbox)
            .where(EmailOutbox.id == row.id)
            .values(attempts=EmailOutbox.attempts + 1)
        )
        return row.id, row.message_id, msg

    async def _reader(self, s: AsyncSession, address: str) -> tuple[str, str | None]:
        """The locale and time zone of whoever reads ``address``: a user's own setting first,
        then the customer's or the partner's; the site default when none names one."""
        key = address.strip().lower()
        timezone: str | None = None
        for _, _, _, locale, zone in (await s.execute(_READERS, {"address": key})).all():
            timezone = timezone or zone
            if locale:
                return i18n.normalize(locale, self._default_locale), timezone
        return self._default_locale, timezone

    @staticmethod
    async def _mark(s: AsyncSession, row_id: int, status: str, error: str) -> None:
        await s.execute(
            update(EmailOutbox)
            .where(EmailOutbox.id == row_id)
            .values(status=status, last_error=error[:2000])
        )
