"""Passwords (argon2), emailed one-time sign-in links, and the sign-in rate limit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.db import insert_ignore, utcnow
from infra.tables import ConsoleCredential, Customer, SigninAttempt, SigninToken, User

Sessions = async_sessionmaker[AsyncSession]

_hasher = PasswordHasher()
# A hash of a password nobody has: verifying against it when the account does not exist
# spends the same time, so the answer's timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 10
# Failed attempts allowed in the window: per account and address, and per address alone
# (one address trying many accounts).
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


class WeakPasswordError(ValueError):
    """The password is too short or too plain to be accepted."""


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored in place of a session id or link token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash; refuses short passwords."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPasswordError("a password needs more than three different characters")
    return _hasher.hash(password)


async def set_password(sessions: Sessions, user_id: str, password: str) -> None:
    """Stores (or replaces) a user's password; the user must exist (customers have none)."""
    hashed = hash_password(password)
    async with sessions.begin() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise LookupError(f"no user with id {user_id!r} (customers sign in by emailed link)")
        row = await s.get(ConsoleCredential, user_id)
        if row is None:
            s.add(ConsoleCredential(user_id=user_id, password_hash=hashed, updated_at=utcnow()))
        else:
            row.password_hash, row.updated_at = hashed, utcnow()


@dataclass(frozen=True)
class SigninLimit:
    """Too many failed attempts: wait until ``retry_at``."""

    retry_at: datetime


async def check_limit(sessions: Sessions, account: str, address: str) -> SigninLimit | None:
    """None while attempts are allowed for this account from this address."""
    since = utcnow() - ATTEMPT_WINDOW
    account = account.strip().lower()
    async with sessions() as s:
        failed = select(SigninAttempt).where(
            SigninAttempt.address == address, SigninAttempt.at >= since, ~SigninAttempt.ok
        )
        per_address = await s.scalar(select(func.count()).select_from(failed.subquery()))
        per_account = await s.scalar(
            select(func.count()).select_from(
                failed.where(SigninAttempt.account == account).subquery()
            )
        )
        if (per_account or 0) < MAX_FAILURES_PER_ACCOUNT and (
            per_address or 0
        ) < MAX_FAILURES_PER_ADDRESS:
            return None
        oldest = await s.scalar(
            select(func.min(SigninAttempt.at)).where(
                SigninAttempt.address == address, SigninAttempt.at >= since, ~SigninAttempt.ok
            )
        )
    return SigninLimit(retry_at=(oldest or utcnow()) + ATTEMPT_WINDOW)


async def record_attempt(sessions: Sessions, account: str, address: str, ok: bool) -> None:
    """Counts one attempt (a success does not erase earlier failures)."""
    async with sessions.begin() as s:
        s.add(
            SigninAttempt(
                account=account.strip().lower()[:254], address=address, at=utcnow(), ok=ok
            )
        )


async def check_password(sessions: Sessions, account: str, password: str) -> str | None:
    """The user id when ``account`` (user id or email) and password match an active user."""
    account = account.strip()
    async with sessions() as s:
        users = (
            await s.scalars(
                select(User).where(
                    or_(User.id == account, func.lower(User.email) == account.lower())
                )
            )
        ).all()
        creds = {
            c.user_id: c
            for c in (
                await s.scalars(
                    select(ConsoleCredential).where(
                        ConsoleCredential.user_id.in_([u.id for u in users])
                    )
                )
            ).all()
        }
    candidates = [(u, creds[u.id]) for u in users if u.id in creds and u.active]
    if not candidates:
        _verify(_DUMMY_HASH, password)
        return None
    for user, cred in candidates:
        if _verify(cred.password_hash, password):
            return user.id
    return None


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def principals_with_email(sessions: Sessions, email: str) -> list[tuple[str, str]]:
    """``(id, name)`` of active users and customers with this email address."""
    email = email.strip().lower()
    if "@" not in email:
        return []
    async with sessions() as s:
        users = (
            await s.execute(
                select(User.id, User.name).where(func.lower(User.email) == email, User.active)
            )
        ).all()
        customers = (
            await s.execute(
                select(Customer.id, Customer.name).where(func.lower(Customer.email) == email)
            )
        ).all()
    return [(str(i), str(n)) for i, n in [*users, *customers]]


async def issue_signin_token(sessions: Sessions, principal_id: str, ttl: timedelta) -> str:
    """A new one-time sign-in token (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with sessions.begin() as s:
        await s.execute(
            insert_ignore(s, SigninToken, ["token_hash"]).values(
                token_hash=digest(token),
                principal_id=principal_id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
    return token


async def peek_signin_token(sessions: Sessions, token: str) -> SigninToken | None:
    """The unused, unexpired token row (without using it)."""
    async with sessions() as s:
        row: SigninToken | None = await s.scalar(
            select(SigninToken).where(
                SigninToken.token_hash == digest(token),
                SigninToken.used_at.is_(None),
                SigninToken.expires_at > utcnow(),
            )
        )
    return row


async def use_signin_token(sessions: Sessions, token: str) -> str | None:
    """Uses the token once: the principal id, or None when unknown, used or expired."""
    now = utcnow()
    async with sessions.begin() as s:
        # One UPDATE decides: of two simultaneous uses only one changes the row.
        result = await s.execute(
            update(SigninToken)
            .where(
                SigninToken.token_hash == digest(token),
                SigninToken.used_at.is_(None),
                SigninToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(SigninToken.principal_id)
        )
        principal = result.scalar_one_or_none()
    return str(principal) if principal is not None else None
