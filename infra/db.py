"""Database engine, sessions and the column types shared by every table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import DateTime, Dialect, Numeric, String, Table, event, literal_column
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
    if url.startswith("sqlite+aiosqlite:"):
        # aiosqlite with one thread hop per statement instead of three or four.
        from infra.sqlite_driver import DRIVER

        url = f"sqlite+{DRIVER}:" + url.removeprefix("sqlite+aiosqlite:")
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


# Built once per dialect, table, conflict target, update list and RETURNING list: a
# statement object memoises its cache key, so executing the same one again (the values passed
# as parameters) skips building the statement and its key (0.5-1 ms per upsert, most of it
# in ``excluded``'s column proxies).
_PREBUILT: dict[tuple[str, Any, str, str, str], Insert] = {}


def _on_conflict(
    session: AsyncSession,
    table: Any,
    index_elements: Sequence[str],
    update: Sequence[str] | None,
    returning: Sequence[str],
) -> Insert:
    dialect = session.get_bind().dialect.name
    target = getattr(table, "__table__", table)  # an ORM class, or a Table
    key = (
        dialect,
        target,
        ",".join(index_elements),
        "-" if update is None else ",".join(update),
        ",".join(returning),
    )
    found = _PREBUILT.get(key)
    if found is not None:
        return found
    cls: type[_PgInsertIgnore] | type[_SqliteInsertIgnore]
    if dialect == "postgresql":
        cls = _PgInsertIgnore
    elif dialect == "sqlite":
        cls = _SqliteInsertIgnore
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    stmt: Any = cls(target)
    if update is None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(index_elements))
        stmt._ignore_key = "do-nothing:" + ",".join(index_elements)
    else:
        # ``excluded`` is the row that was refused, on PostgreSQL and SQLite alike.
        stmt = stmt.on_conflict_do_update(
            index_elements=list(index_elements),
            set_={name: literal_column(f"excluded.{name}") for name in update},
        )
        stmt._ignore_key = f"do-update:{','.join(index_elements)}:{','.join(update)}"
    if returning:
        stmt = stmt.returning(*(target.c[name] for name in returning))
    _PREBUILT[key] = stmt
    return cast(Insert, stmt)


def insert_ignore(
    session: AsyncSession,
    table: Any,
    index_elements: Sequence[str],
    *,
    returning: Sequence[str] = (),
) -> Insert:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING`` for the session's dialect,
    ``RETURNING`` the columns named in ``returning``.

    Call ``.values(...)`` on the result, or (faster: the statement is built once) pass the
    values to ``execute``. This is how activities stay idempotent: a retry inserts nothing
    and then reads back the row the first attempt wrote. The statement is cacheable (see
    :class:`_PgInsertIgnore`).
    """
    return _on_conflict(session, table, index_elements, None, returning)


def upsert(
    session: AsyncSession, table: Any, index_elements: Sequence[str], update: Sequence[str]
) -> Insert:
    """``INSERT ... ON CONFLICT (index_elements) DO UPDATE SET col = excluded.col`` for each
    of ``update``: one statement where a read and then an insert or update took two.

    Pass the values to ``execute``; built once, like :func:`insert_ignore`.
    """
    return _on_conflict(session, table, index_elements, update, ())


def table_of(model: type[Base]) -> Table:
    """The Core table of an ORM model, for statements built once and bound at execution
    (no ORM overhead on hot paths)."""
    return cast(Table, model.__table__)


def utcnow() -> datetime:
    """Current time, timezone-aware (for code outside workflows only)."""
    return datetime.now(UTC)
