"""Personal API tokens: made for a user, shown once, stored as a digest, checked per request.

A token is ``pfat_`` and 43 URL-safe characters (32 random bytes). We keep its SHA-256
digest (a token is random, so a slow hash adds nothing) and its first characters to tell
tokens apart. The token acts as its user: the user must still exist and be active on every
request, so deactivating a user stops their tokens at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.parties import Actor
from domain.types import check_duration
from infra.db import utcnow
from infra.tables import ApiToken, User
from starter.services.actors import find_actor
from starter.services.errors import BadInputError, CliError

Sessions = async_sessionmaker[AsyncSession]

SCHEME = "pfat_"
PREFIX_LENGTH = len(SCHEME) + 6
MAX_NAME_LENGTH = 100
# A token used again within this time does not rewrite its last-used time: one write per
# minute at most, not one per request.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class TokenError(Exception):
    """The presented token does not authenticate anyone; ``rule`` says why (for the log,
    never to the caller, who gets one answer for every case)."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner and ops see it (never the secret)."""

    id: int
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        """``active``, ``expired`` or ``revoked`` (now)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= utcnow() else "active"


@dataclass(frozen=True)
class NewToken:
    """A token just made: the secret, to be shown once, and its stored facts."""

    token: str
    info: TokenInfo


def digest(token: str) -> str:
    """The SHA-256 hex digest stored in place of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def create_token(sessions: Sessions, user_id: str, name: str, ttl: timedelta) -> NewToken:
    """Makes a token for an active user, valid for ``ttl`` (more than zero, at most 366 days).

    Customers sign in by emailed link and have no user row: they get no tokens.
    """
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise BadInputError(
            f"--name: give the token a name of 1 to {MAX_NAME_LENGTH} characters "
            "(what it is for, e.g. 'billing sync')",
            rule="invalid_input",
        )
    try:
        check_duration(ttl)
    except ValueError as exc:
        raise BadInputError(f"--expires: {exc}", rule="invalid_duration") from None
    token = SCHEME + secrets.token_urlsafe(32)
    now = utcnow()
    async with sessions.begin() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise BadInputError(
                f"--user: no user with id {user_id!r} (customers have no API tokens)",
                rule="unknown_user",
            )
        # The same checks as every request makes: an inactive user gets no token.
        await find_actor(s, user_id)
        row = ApiToken(
            user_id=user_id,
            name=name,
            token_hash=digest(token),
            prefix=token[:PREFIX_LENGTH],
            created_at=now,
            expires_at=now + ttl,
        )
        s.add(row)
        await s.flush()
        info = _info(row)
    return NewToken(token=token, info=info)


async def list_tokens(sessions: Sessions, user_id: str | None = None) -> list[TokenInfo]:
    """The tokens of a user (every user's when ``user_id`` is None), newest first."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    async with sessions() as s:
        return [_info(row) for row in (await s.scalars(query)).all()]


async def revoke_token(sessions: Sessions, token_id: int) -> TokenInfo:
    """Revokes a token; revoking a revoked token again keeps the first time."""
    async with sessions.begin() as s:
        row = await s.get(ApiToken, token_id)
        if row is None:
            raise BadInputError(f"no API token with id {token_id}", rule="unknown_token")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return _info(row)


@dataclass(frozen=True)
class Authenticated:
    """Who a request's token acts as, and which token it is."""

    actor: Actor
    token: TokenInfo


async def authenticate(sessions: Sessions, token: str) -> Authenticated:
    """The actor a presented token acts as; TokenError when it is unknown, revoked, expired,
    or its user is gone or deactivated. Records when the token was last used."""
    if not token.startswith(SCHEME) or len(token) > 200:
        raise TokenError("token_malformed")
    now = utcnow()
    async with sessions() as s:
        row = await s.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
        if row is None:
            raise TokenError("token_unknown")
        if row.revoked_at is not None:
            raise TokenError("token_revoked")
        if row.expires_at <= now:
            raise TokenError("token_expired")
        try:
            actor = await find_actor(s, row.user_id)
        except CliError as exc:
            raise TokenError(exc.rule) from None
        info = _info(row)
    if info.last_used_at is None or now - info.last_used_at >= LAST_USED_GRANULARITY:
        async with sessions.begin() as s:
            await s.execute(update(ApiToken).where(ApiToken.id == info.id).values(last_used_at=now))
    return Authenticated(actor=actor, token=info)
