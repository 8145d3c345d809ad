"""Console sessions: a random id in a signed HttpOnly cookie, its digest and expiry in the DB.

Idle expiry moves with each request (``last_seen_at``); the absolute expiry never moves. A
new session is made at each sign-in (the old one is deleted), so an id planted before the
sign-in is worth nothing after it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update

from infra.db import utcnow
from infra.tables import ConsoleSession
from starter.console.auth import Sessions, digest

COOKIE = "pf_session"


@dataclass(frozen=True)
class SessionInfo:
    """A live session: who, and the raw id (the CSRF token is derived from it)."""

    session_id: str
    principal_id: str
    flash: str | None


class SessionStore:
    """Creates, loads, touches and ends sessions."""

    def __init__(self, sessions: Sessions, secret: str, idle: timedelta, lifetime: timedelta):
        self._sessions = sessions
        self._signer = URLSafeTimedSerializer(secret, salt="partnerflow-console-session")
        self.idle = idle
        self.lifetime = lifetime

    def cookie_value(self, session_id: str) -> str:
        """The signed cookie value for a session id."""
        return str(self._signer.dumps(session_id))

    def session_id(self, cookie: str | None) -> str | None:
        """The session id inside a cookie whose signature holds (None otherwise)."""
        if not cookie:
            return None
        try:
            value = self._signer.loads(cookie, max_age=int(self.lifetime.total_seconds()) + 60)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    async def create(self, principal_id: str, replaces: str | None = None) -> str:
        """A new session id for the principal (``replaces``, an older id, is ended)."""
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        async with self._sessions.begin() as s:
            if replaces:
                await s.execute(
                    delete(ConsoleSession).where(ConsoleSession.id_hash == digest(replaces))
                )
            s.add(
                ConsoleSession(
                    id_hash=digest(session_id),
                    principal_id=principal_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return session_id

    async def load(self, session_id: str | None) -> SessionInfo | None:
        """The live session (touched, flash taken), or None when unknown or expired."""
        if session_id is None:
            return None
        now = utcnow()
        async with self._sessions.begin() as s:
            row = await s.scalar(
                select(ConsoleSession).where(ConsoleSession.id_hash == digest(session_id))
            )
            if row is None:
                return None
            if row.expires_at <= now or row.last_seen_at + self.idle <= now:
                await s.delete(row)
                return None
            flash = row.flash
            await s.execute(
                update(ConsoleSession)
                .where(ConsoleSession.id_hash == row.id_hash)
                .values(last_seen_at=now, flash=None)
            )
        return SessionInfo(session_id=session_id, principal_id=row.principal_id, flash=flash)

    async def set_flash(self, session_id: str, message: str) -> None:
        """One line for the next page."""
        async with self._sessions.begin() as s:
            await s.execute(
                update(ConsoleSession)
                .where(ConsoleSession.id_hash == digest(session_id))
                .values(flash=message[:500])
            )

    async def end(self, session_id: str | None) -> None:
        """Signs out: the session row goes."""
        if session_id is None:
            return
        async with self._sessions.begin() as s:
            await s.execute(
                delete(ConsoleSession).where(ConsoleSession.id_hash == digest(session_id))
            )
