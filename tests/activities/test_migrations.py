"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

import infra.tables  # noqa: F401
from infra.db import Base, make_engine
from infra.migrate import upgrade
from tests.harness import PG_ADMIN_URL


def _diff(conn: Connection) -> list[object]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, Base.metadata))


# SQLite cannot reflect the lower(email) indexes: they are checked by their query plans below.
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_migrations_match_models(db_kind: str, tmp_path: Path) -> None:
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                diff = await conn.run_sync(_diff)
        finally:
            await engine.dispose()
        assert diff == []
        # idempotent: a second upgrade is a no-op
        await asyncio.to_thread(upgrade, url)
        return
    # PostgreSQL: a private database so that migrations run exactly as in production.
    name = f"pf_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                diff = await conn.run_sync(_diff)
        finally:
            await engine.dispose()
        assert diff == []
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.dispose()


def test_upgrade_creates_the_sqlite_directory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deep' / 'dir' / 'pf.db'}"
    upgrade(url)
    assert (tmp_path / "deep" / "dir" / "pf.db").exists()


@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
def test_email_lookups_use_the_lower_email_indexes(tmp_path: Path) -> None:
    # SQLite cannot reflect expression indexes, so the comparison above skips them: check the
    # query plans of the lookups activities/notify.py and console sign-in run instead.
    db = tmp_path / "pf.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    with sqlite3.connect(db) as conn:
        for table, column, index in (
            ("users", "email", "ix_users_email_lower"),
            ("customers", "email", "ix_customers_email_lower"),
            ("partners", "contact_email", "ix_partners_contact_email_lower"),
        ):
            plan = conn.execute(
                f"EXPLAIN QUERY PLAN SELECT locale FROM {table} WHERE lower({column}) = ?",
                ("a@example.com",),
            ).fetchall()
            assert any(index in str(row) for row in plan), plan
