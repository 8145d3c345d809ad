"""API tables: personal tokens for the JSON API under ``/api``.

A token is shown once, when it is made; we keep its SHA-256 digest only, so a database dump
lets nobody call the API (as with console sessions and sign-in links).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class ApiToken(Base):
    """A personal API token: whose it is, its digest, and when it stops working."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 hex digest of the whole token; unique, looked up on every request
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the token's first characters, so that a person can tell their tokens apart
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
