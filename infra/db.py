"""Database engine, sessions and the column types shared by every table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncAttrs,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Insert
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base of every PartnerFlow table."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """CNY with two decimals; exact on SQLite too (stored as text there, NUMERIC elsewhere)."""

    impl = Numeric(16, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(16, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        q = Decimal(value).quantize(Decimal("0.01"))
        return str(q) if dialect.name == "sqlite" else q

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Creates the async engine; SQLite gets foreign keys, WAL, a busy timeout and, for a
    database file, one pooled connection per process."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        if ":memory:" not in url and "poolclass" not in kwargs:
            # SQLite has one writer. With a pool of connections, concurrent activities each
            # began a write and slept in SQLite's busy handler (sleeps of 1-100 ms, woken by
            # no one) until the lock came free: 70% of the connection threads' samples in a
            # profile. One connection queues them in the event loop instead, and hands the
            # connection on the moment it is returned. Invitation bench: 5.8 -> 6.4/s.
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 60)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    from infra.tracing import instrument_engine  # here: tracing imports the mailer

    instrument_engine(engine)
    return engine


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _without_conflict_clause(internals: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    # The ON CONFLICT clause has no cache key of its own; ``_ignore_key`` stands for it.
    return [(name, kind) for name, kind in internals if name != "_post_values_clause"]


class _PgInsertIgnore(postgresql.Insert):
    """PostgreSQL's insert whose ``ON CONFLICT (...) DO NOTHING`` is part of its cache key.

    SQLAlchemy 2.0 gives the dialects' inserts no cache key at all (its ``ON CONFLICT`` clause
    is not traversed), so each was compiled again at every call: a third of the worker's
    SQLAlchemy time in a profile. The key names the conflict target, the one thing the clause
    holds here, so two statements that differ in it never share compiled SQL.
    """

    inherit_cache = False
    _traverse_internals = [
        *_without_conflict_clause(postgresql.Insert._traverse_internals),
        ("_ignore_key", InternalTraversal.dp_string),
    ]
    _ignore_key = ""


class _SqliteInsertIgnore(sqlite.Insert):
    """SQLite's counterpart of :class:`_PgInsertIgnore`."""

    inherit_cache = False
    _traverse_internals = [
        *_without_conflict_clause(sqlite.Insert._traverse_internals),
        ("_ignore_key", InternalTraversal.dp_string),
    ]
    _ignore_key = ""


def insert_ignore(session: AsyncSession, table: Any, index_elements: Sequence[str]) -> Insert:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING`` for the session's dialect.

    Call ``.values(...)`` on the result. This is how activities stay idempotent: a retry
    inserts nothing and then reads back the row the first attempt wrote. The statement is
    cacheable (see :class:`_PgInsertIgnore`).
    """
    name = session.get_bind().dialect.name
    cls: type[_PgInsertIgnore] | type[_SqliteInsertIgnore]
    if name == "postgresql":
        cls = _PgInsertIgnore
    elif name == "sqlite":
        cls = _SqliteInsertIgnore
    else:
        raise RuntimeError(f"unsupported database dialect {name!r}")
    stmt = cls(table).on_conflict_do_nothing(index_elements=list(index_elements))
    stmt._ignore_key = "do-nothing:" + ",".join(index_elements)
    return stmt


def utcnow() -> datetime:
    """Current time, timezone-aware (for code outside workflows only)."""
    return datetime.now(UTC)
