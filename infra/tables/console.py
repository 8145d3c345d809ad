"""Console tables: passwords, sessions, emailed sign-in links, sign-in attempts.

Secrets are never stored as they are: passwords as argon2 hashes, session ids and sign-in
link tokens as SHA-256 digests, so a database dump signs nobody in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class ConsoleCredential(Base):
    """A user's console password (argon2 hash); customers have none and sign in by link."""

    __tablename__ = "console_credentials"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A signed-in browser: idle and absolute expiry; the cookie holds the id, we its digest."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # a user id, or a customer id for a customer signed in by link
    principal_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # one line shown on the next page (POST-redirect-GET)
    flash: Mapped[str | None] = mapped_column(Text, nullable=True)


class SigninToken(Base):
    """An emailed one-time sign-in link."""

    __tablename__ = "console_signin_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SigninAttempt(Base):
    """One sign-in attempt; failures in a window count against the account and the address."""

    __tablename__ = "console_signin_attempts"
    __table_args__ = (Index("ix_console_signin_attempts_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
